#!/usr/bin/python3
"""One training step (forward + backward + AdamW) of a vfp architecture in PyTorch's Python API.

The Python half of bench_model_step (bench/model_step.cpp), which runs this script once per
case after timing the same case in C++, under the same threads and allocator settings, and
compares the parameter counts. It builds the same model as vfp's registry (lib/models):

- 2D resnet18/34/50/101/152 and densenet121: torchvision's models (num_classes=1), the first
  convolution replaced by a 1-channel one of the same shape;
- SE variants, every 3D model and fNet: the small torch.nn definitions below, written like
  torchvision's (in-place ReLU, adaptive average pooling) and mirroring lib/models/resnet.cpp,
  densenet.cpp and fnet.cpp;
- the head as vfp's: dropout then a linear layer to one logit.

Run it with Debian's interpreter (/usr/bin/python3: python3-torch, python3-torchvision), e.g.
  /usr/bin/python3 bench/model_step.py --arch resnet18 --dims 2 --size 64 --batch 8 --threads 2
It prints one line `vfp-bench-result key=value ...` (ms/step as the median of the per-step
times) and exits 3 without timing when --expect-params/--expect-tensors/--expect-shapes are
given and the model differs.
"""

import argparse
import os
import statistics
import sys
import time

ARCHS = ("fnet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "se_resnet50",
         "se_resnext50_32x4d", "densenet121")


def fnv1a64(text):
    """64-bit FNV-1a, as vfp::fnv1a64, so both sides hash the parameter shapes alike."""
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def build(arch, dims, width, dropout):
    import torch
    from torch import nn

    def conv(cin, cout, k, s=1, p=0, groups=1, bias=False):
        cls = nn.Conv2d if dims == 2 else nn.Conv3d
        return cls(cin, cout, k, stride=s, padding=p, groups=groups, bias=bias)

    def bn(c):
        return nn.BatchNorm2d(c) if dims == 2 else nn.BatchNorm3d(c)

    def max_pool(k, s, p=0):
        return (nn.MaxPool2d if dims == 2 else nn.MaxPool3d)(k, s, p)

    def pool_avg_global():
        return nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool3d(1)

    def head(features):
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(features, 1))

    class SqueezeExcite(nn.Module):
        """timm's SEModule: global mean, 1×1 conv to c/16, ReLU, 1×1 conv back, sigmoid gate."""

        def __init__(self, c):
            super().__init__()
            self.fc1 = conv(c, c // 16, 1, bias=True)
            self.fc2 = conv(c // 16, c, 1, bias=True)

        def forward(self, x):
            s = x.mean(tuple(range(2, x.dim())), keepdim=True)
            return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))

    class Block(nn.Module):
        """torchvision's BasicBlock / Bottleneck in 2D or 3D; SE after the last BN if asked."""

        def __init__(self, bottleneck, cin, planes, stride, groups, width_per_group, se):
            super().__init__()
            out = planes * 4 if bottleneck else planes
            self.bottleneck = bottleneck
            if bottleneck:
                w = int(planes * (width_per_group / 64.0)) * groups
                self.conv1, self.bn1 = conv(cin, w, 1), bn(w)
                self.conv2, self.bn2 = conv(w, w, 3, stride, 1, groups), bn(w)
                self.conv3, self.bn3 = conv(w, out, 1), bn(out)
            else:
                self.conv1, self.bn1 = conv(cin, planes, 3, stride, 1), bn(planes)
                self.conv2, self.bn2 = conv(planes, planes, 3, 1, 1), bn(planes)
            self.relu = nn.ReLU(inplace=True)
            self.se = SqueezeExcite(out) if se else None
            self.downsample = None
            if stride != 1 or cin != out:
                self.downsample = nn.Sequential(conv(cin, out, 1, stride), bn(out))

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.bottleneck:
                out = self.bn3(self.conv3(self.relu(out)))
            if self.se is not None:
                out = self.se(out)
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, bottleneck, blocks, groups=1, width_per_group=64, se=False):
            super().__init__()
            self.conv1, self.bn1 = conv(1, 64, 7, 2, 3), bn(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = max_pool(3, 2, 1)
            layers, cin = [], 64
            for s, n in enumerate(blocks):
                planes = 64 << s
                stage = []
                for b in range(n):
                    stride = 2 if b == 0 and s > 0 else 1
                    stage.append(
                        Block(bottleneck, cin, planes, stride, groups, width_per_group, se))
                    cin = planes * 4 if bottleneck else planes
                layers.append(nn.Sequential(*stage))
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = pool_avg_global()
            self.fc = head(cin)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    class DenseLayer(nn.Module):
        def __init__(self, cin, growth=32, bottleneck=4):
            super().__init__()
            self.norm1, self.conv1 = bn(cin), conv(cin, bottleneck * growth, 1)
            mid = bottleneck * growth
            self.norm2, self.conv2 = bn(mid), conv(mid, growth, 3, 1, 1)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, features):
            x = self.conv1(self.relu(self.norm1(torch.cat(features, 1))))
            return self.conv2(self.relu(self.norm2(x)))

    class DenseBlock(nn.ModuleDict):
        def __init__(self, cin, count, growth=32):
            super().__init__()
            for i in range(count):
                self.add_module("denselayer%d" % (i + 1), DenseLayer(cin + i * growth))

        def forward(self, x):
            features = [x]
            for layer in self.values():
                features.append(layer(features))
            return torch.cat(features, 1)

    class DenseNet121(nn.Module):
        """torchvision's DenseNet-121 (growth 32, blocks 6/12/24/16) in 2D or 3D."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential()
            self.features.add_module("conv0", conv(1, 64, 7, 2, 3))
            self.features.add_module("norm0", bn(64))
            self.features.add_module("relu0", nn.ReLU(inplace=True))
            self.features.add_module("pool0", max_pool(3, 2, 1))
            c = 64
            for i, n in enumerate((6, 12, 24, 16)):
                self.features.add_module("denseblock%d" % (i + 1), DenseBlock(c, n))
                c += n * 32
                if i < 3:
                    t = nn.Sequential(bn(c), nn.ReLU(inplace=True), conv(c, c // 2, 1),
                                      (nn.AvgPool2d if dims == 2 else nn.AvgPool3d)(2, 2))
                    self.features.add_module("transition%d" % (i + 1), t)
                    c //= 2
            self.features.add_module("norm5", bn(c))
            self.avgpool = pool_avg_global()
            self.classifier = head(c)

        def forward(self, x):
            x = torch.relu(self.features(x))
            return self.classifier(torch.flatten(self.avgpool(x), 1))

    class FNet(nn.Module):
        """Four stages of 3×3 conv (no bias), BN, ReLU, 2×2 max-pool; widths w, 2w, 4w, 8w."""

        def __init__(self):
            super().__init__()
            stages, cin = [], 1
            for s in range(4):
                out = width << s
                stages += [conv(cin, out, 3, 1, 1), bn(out), nn.ReLU(inplace=True),
                           max_pool(2, 2)]
                cin = out
            self.stages = nn.Sequential(*stages)
            self.avgpool = pool_avg_global()
            self.head = head(cin)

        def forward(self, x):
            return self.head(torch.flatten(self.avgpool(self.stages(x)), 1))

    resnets = {"resnet18": (False, [2, 2, 2, 2]), "resnet34": (False, [3, 4, 6, 3]),
               "resnet50": (True, [3, 4, 6, 3]), "resnet101": (True, [3, 4, 23, 3]),
               "resnet152": (True, [3, 8, 36, 3])}
    if arch == "fnet":
        return FNet()
    if arch == "se_resnet50":
        return ResNet(True, [3, 4, 6, 3], se=True)
    if arch == "se_resnext50_32x4d":
        return ResNet(True, [3, 4, 6, 3], groups=32, width_per_group=4, se=True)
    if dims == 3:
        return DenseNet121() if arch == "densenet121" else ResNet(*resnets[arch])
    import torchvision

    model = getattr(torchvision.models, arch)(num_classes=1)
    if arch == "densenet121":
        model.features.conv0 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        model.classifier = nn.Sequential(nn.Dropout(dropout), model.classifier)
    else:
        model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        model.fc = nn.Sequential(nn.Dropout(dropout), model.fc)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--probe", action="store_true", help="print the torch version and exit")
    p.add_argument("--arch", choices=ARCHS, default="fnet")
    p.add_argument("--dims", type=int, choices=(2, 3), default=2)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--width", type=int, default=16, help="fNet's first-stage width")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--expect-params", type=int)
    p.add_argument("--expect-tensors", type=int)
    p.add_argument("--expect-shapes", help="FNV-1a of the sorted parameter shapes (vfp's)")
    args = p.parse_args()

    import torch
    import torch.nn.functional as F

    if args.probe:
        import torchvision

        print("vfp-bench-probe torch=%s torchvision=%s"
              % (torch.__version__, torchvision.__version__))
        return 0
    # Before any parallel work, as the C++ side does.
    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build(args.arch, args.dims, args.width, args.dropout)
    params = [q for q in model.parameters() if q.requires_grad]
    count = sum(q.numel() for q in params)
    shapes = fnv1a64(";".join(sorted("x".join(str(n) for n in q.shape) for q in params)))
    fields = "params=%d tensors=%d shapes=%s" % (count, len(params), shapes)
    if ((args.expect_params is not None and args.expect_params != count)
            or (args.expect_tensors is not None and args.expect_tensors != len(params))
            or (args.expect_shapes is not None and args.expect_shapes != shapes)):
        print("vfp-bench-result %s error=model-mismatch" % fields)
        print("model_step.py: %s %dD differs from vfp's (params %s, tensors %s, shapes %s): "
              "not timed" % (args.arch, args.dims, args.expect_params, args.expect_tensors,
                             args.expect_shapes), file=sys.stderr)
        return 3

    model.train()
    # foreach=False: the per-tensor loop, as LibTorch's AdamW (which has no foreach variant).
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=False)
    x = torch.rand([args.batch, 1] + [args.size] * args.dims)
    y = torch.randint(0, 2, (args.batch, 1)).float()

    def step():
        opt.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(model(x), y).backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print("vfp-bench-result %s median_ms=%.4f mean_ms=%.4f threads=%d interop=%d torch=%s "
          "tunables=%s" % (fields, 1000 * statistics.median(times), 1000 * statistics.mean(times),
                           torch.get_num_threads(), torch.get_num_interop_threads(),
                           torch.__version__, os.environ.get("GLIBC_TUNABLES", "-")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
