#!/usr/bin/env python3
"""MONAI's 3D networks as references for tests/models/monai_equivalence_test.cpp.

Usage (MONAI is a test-only dependency, in the project's venv: scripts/torch2.sh venv):
    .venv/bin/python tests/models/monai_reference.py tests/models/data

For each network the study names in 3D (SE-ResNet50, its BYOL backbone; SE-ResNeXt50;
DenseNet121; ResNet18 and ResNet50) this builds MONAI's implementation with 1 input
channel and 3 outputs, fills its whole state dict by a closed-form rule (below), runs a
fixed input of 2 volumes in eval and in train mode, and writes
tests/models/data/monai_<name>.txt:
    # comments: how it was made, and how far MONAI's own float32 logits are from float64's
    @input 2 1 47 47 47
    @eval  <the 2 × 3 logits, row-major>
    @train <the same in train mode: batch statistics>
    <key> <dim>...            one line per state-dict entry, in MONAI's order
The volumes are 47³ (the study's patch, odd so that the SENets' ceil-mode pool rounds up),
63³ for DenseNet121: at 47³ its last dense block sees 1×1×1 maps, where batch statistics over
2 values make train mode ill-conditioned (float32 and float64 differ by 8 %); at 63³ 2×2×2.
MONAI's ResNets keep full resolution until the max-pool: 31³ (2×2×2 in the last stage) costs
a third of 47³ in the tests.

The C++ test rebuilds the same state dict from those keys and shapes with the same rule,
maps it through lib/models/key_maps/ onto vfp's model and must reproduce the logits to 1e-4.
No weights are stored: the rule makes them.

The rule, for the t-th entry (0-based, MONAI's order) and its j-th element (row-major),
with s = 43758.5453 sin(12.9898 j + 78.233 t + 0.5) and u = 2 (s - floor(s)) - 1, a
pseudo-random number in [-1, 1) (smooth rules such as sin(0.37 j) give kernels so regular that
train mode's batch statistics become ill-conditioned), in double precision, rounded to
float32 at the end:
    num_batches_tracked      0
    running_mean             0.1 u
    running_var              1 + 0.25 (u + 1)
    a weight with 2+ axes    u · sqrt(6 / fan_in), fan_in = numel / shape[0] (Kaiming uniform)
    any other weight         1 + 0.2 u          (normalisation scales)
    a bias                   0.1 u
The input's i-th element (row-major, in sample b) is (1 + b) (sin(0.011 i) + 0.5 sin(0.0007 i)).
"""
import copy
import math
import os
import sys

import monai
import torch
from monai.networks import nets

OUTPUTS = 3


def input_shape(name):
    side = {"densenet121": 63, "monai_resnet18": 31, "monai_resnet50": 31}.get(name, 47)
    return (2, 1, side, side, side)


def networks():
    """vfp's registry name → MONAI's network (3D, 1 channel, OUTPUTS classes)."""
    return {
        "monai_seresnet50": nets.SEResNet50(spatial_dims=3, in_channels=1, num_classes=OUTPUTS),
        "monai_seresnext50": nets.SEResNext50(spatial_dims=3, in_channels=1,
                                              num_classes=OUTPUTS),
        "densenet121": nets.DenseNet121(spatial_dims=3, in_channels=1, out_channels=OUTPUTS),
        "monai_resnet18": nets.resnet18(spatial_dims=3, n_input_channels=1,
                                        num_classes=OUTPUTS),
        "monai_resnet50": nets.resnet50(spatial_dims=3, n_input_channels=1,
                                        num_classes=OUTPUTS),
    }


def rule_value(key, t, shape):
    n = math.prod(shape)
    j = torch.arange(n, dtype=torch.float64)
    s = torch.sin(j * 12.9898 + t * 78.233 + 0.5) * 43758.5453
    u = (s - torch.floor(s)) * 2 - 1
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.long)
    if key.endswith("running_mean"):
        v = 0.1 * u
    elif key.endswith("running_var"):
        v = 1 + 0.25 * (u + 1)
    elif key.endswith("weight") and len(shape) >= 2:
        v = u * math.sqrt(6 / (n / shape[0]))
    elif key.endswith("weight"):
        v = 1 + 0.2 * u
    elif key.endswith("bias"):
        v = 0.1 * u
    else:
        raise SystemExit(f"no rule for state-dict entry {key}")
    return v.to(torch.float32).reshape(shape)


def rule_input(shape):
    i = torch.arange(math.prod(shape), dtype=torch.float64)
    sample = torch.div(i, math.prod(shape[1:]), rounding_mode="floor")
    x = (1 + sample) * (torch.sin(0.011 * i) + 0.5 * torch.sin(0.0007 * i))
    return x.to(torch.float32).reshape(shape)


def relative(ours, exact):
    """max |ours - exact| over the largest exact logit (at least 1), as the C++ test."""
    return ((ours.double() - exact).abs().max() / exact.abs().max().clamp(min=1)).item()


def values(t):
    return " ".join(f"{v:.9g}" for v in t.detach().reshape(-1).tolist())


def main(folder):
    torch.set_num_threads(1)
    for name, net in networks().items():
        shape = input_shape(name)
        x = rule_input(shape)
        state = net.state_dict()
        net.load_state_dict({k: rule_value(k, t, tuple(v.shape))
                             for t, (k, v) in enumerate(state.items())})
        exact = copy.deepcopy(net).double()  # before train mode moves the running statistics
        with torch.no_grad():
            evaluated = net.eval()(x)
            trained = net.train()(x)
            error_eval = relative(evaluated, exact.eval()(x.double()))
            error_train = relative(trained, exact.train()(x.double()))
        path = os.path.join(folder, f"monai_{name.removeprefix('monai_')}.txt")
        with open(path, "w") as out:
            out.write(f"# MONAI {monai.__version__} {type(net).__name__} (3D, 1 channel, "
                      f"{OUTPUTS} outputs) as vfp's `{name}`; torch {torch.__version__}, CPU, 1 "
                      "thread.\n# Made by tests/models/monai_reference.py (its docstring gives "
                      "the weight rule).\n# MONAI's float32 logits vs its float64 ones "
                      f"(relative, as the test measures): eval {error_eval:.1e}, train "
                      f"{error_train:.1e}.\n")
            out.write("@input " + " ".join(map(str, shape)) + "\n")
            out.write("@eval " + values(evaluated) + "\n")
            out.write("@train " + values(trained) + "\n")
            for k, v in state.items():
                out.write(" ".join([k] + [str(d) for d in v.shape]) + "\n")
        print(f"{path}: {len(state)} entries; float32 vs float64: eval {error_eval:.1e}, "
              f"train {error_train:.1e}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "data"))
