#!/usr/bin/python3
"""Reference weights and outputs from torchvision for tests/models/weights_test.cpp.

Usage: /usr/bin/python3 torchvision_reference.py <output folder> [checkpoints]

For resnet18, resnet50 and densenet121 (random initialisation, fixed seed, every
BatchNorm's statistics and affine parameters randomised so that eval mode is a real test)
writes into the folder:
  <arch>.safetensors     the state dict, in the safetensors format (written here by hand:
                         Debian has no safetensors module)
  <arch>.pt              the same state dict through torch.save
  <arch>_io.safetensors  "input" [2, 3, 64, 64] and "output" = model.eval()(input)
and resnet18_checkpoint.pt: {"epoch": 3, "model": state dict}, a training checkpoint.

With "checkpoints" it writes instead a training checkpoint full of what torch.save meets in
practice (optimizer state, argparse and numpy objects, sets, half precision, parameters,
views sharing one storage), with pickle protocols 2 (torch.save's default) and 4:
  checkpoint_p2.pt, checkpoint_p4.pt   {"state_dict": ..., "epoch": ..., ...}
  checkpoint_expected.safetensors      the state dict, floating point as float32
"""
import argparse
import collections
import json
import os
import struct
import sys

import numpy
import torch
import torchvision

ARCHS = ["resnet18", "resnet50", "densenet121"]

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def write_safetensors(path, tensors):
    """The safetensors layout: u64 little-endian header length, JSON header padded with
    spaces to a multiple of 8, then the tensors' bytes in header order."""
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        # numpy has no bfloat16; reinterpret the bits of any dtype as bytes instead.
        data = t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {
            "dtype": DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def randomise_batch_norms(model, generator):
    # Scales below 1 keep the activations from growing through ResNet-50's 16 blocks: with
    # scales around 1 its logits reach ~500, where float32 rounding alone exceeds the C++
    # test's 1e-4 tolerance; here every model's logits have a spread of ~0.1-0.2.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(n, generator=generator))
                m.weight.copy_(0.4 + 0.5 * torch.rand(n, generator=generator))
                m.bias.copy_(0.1 * torch.randn(n, generator=generator))
                m.num_batches_tracked.fill_(7)


def write_checkpoints(out):
    g = torch.Generator().manual_seed(5)
    big = torch.randn(4, 6, generator=g)
    state = collections.OrderedDict()
    state["half"] = torch.randn(3, generator=g).half()
    state["bf16"] = torch.randn(3, generator=g).bfloat16()
    state["double"] = torch.randn(2, 2, generator=g, dtype=torch.float64)
    state["param"] = torch.nn.Parameter(torch.randn(2, generator=g))
    state["row"] = big[1]  # a view at offset 6 of a storage shared with the next one
    state["transposed"] = big.t()  # not contiguous
    state["flags"] = torch.tensor([True, False, True])
    state["count"] = torch.tensor(12)
    state["empty"] = torch.zeros(0, 3)
    checkpoint = {
        "epoch": 7,
        "best": 0.93,
        "best_np": numpy.float64(0.93),
        "big": 2**40,
        "negative": -5,
        "args": argparse.Namespace(lr=0.1, arch="resnet18"),
        "tags": {"a", "b"},
        "history": [1.5, None, (1, "x"), b"bytes"],
        "optimizer": {
            "state": {0: {"momentum_buffer": torch.ones(2)}},
            "param_groups": [{"lr": 0.1, "params": [0]}],
        },
        "state_dict": state,
    }
    torch.save(checkpoint, os.path.join(out, "checkpoint_p2.pt"))
    torch.save(checkpoint, os.path.join(out, "checkpoint_p4.pt"), pickle_protocol=4)
    expected = collections.OrderedDict()
    for k, v in state.items():
        v = v.detach()
        expected[k] = v.float() if v.is_floating_point() else v
    write_safetensors(os.path.join(out, "checkpoint_expected.safetensors"), expected)


def main():
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "checkpoints"):
        sys.exit("usage: torchvision_reference.py <output folder> [checkpoints]")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if len(sys.argv) == 3:
        write_checkpoints(out)
        return
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for i, arch in enumerate(ARCHS):
        torch.manual_seed(1234 + i)
        model = getattr(torchvision.models, arch)()
        generator = torch.Generator().manual_seed(99 + i)
        randomise_batch_norms(model, generator)
        model.eval()
        state = model.state_dict()
        write_safetensors(os.path.join(out, arch + ".safetensors"), state)
        torch.save(state, os.path.join(out, arch + ".pt"))
        x = torch.randn(2, 3, 64, 64, generator=generator)
        with torch.no_grad():
            y = model(x)
        write_safetensors(os.path.join(out, arch + "_io.safetensors"), {"input": x, "output": y})
        if arch == "resnet18":
            torch.save({"epoch": 3, "model": state}, os.path.join(out, "resnet18_checkpoint.pt"))


if __name__ == "__main__":
    main()
