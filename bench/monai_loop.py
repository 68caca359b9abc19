#!/usr/bin/env python3
"""MONAI's training loop on the patches bench_fit trained on: the Python half of
`bench_fit --versus-monai` (bench/fit_throughput.cpp), which runs it right after timing vfp's
loop on the same patches, with the same threads and the same allocator settings
(GLIBC_TUNABLES as vfp sets them at start-up).

The loop is what a MONAI user writes: monai.data.Dataset over the training patches with
MONAI's random transforms (RandFlipd, RandAffined, RandShiftIntensityd, RandScaleIntensityd,
RandGaussianNoised, at vfp's augmentation defaults: flip 0.5, ±10° about each axis, zoom ±10 %,
intensity shift ±0.02, gain ±5 %, noise σ 0.01), monai.data.DataLoader (shuffled, one worker
process, as vfp's one loader thread), AdamW, BCE-with-logits. Networks: MONAI's SEResNet50
(vfp's `monai_seresnet50`) or fNet as torch.nn (bench/model_step.py's, vfp's `fnet`).

Usage (MONAI lives in the project's venv: scripts/torch2.sh venv):
  .venv/bin/python bench/monai_loop.py --data DIR --arch fnet|seresnet50 --size 47
        --batch 16 --epochs 2 --threads 2
DIR holds patches.f32 (float32 [N, 1, S, S, S], written by bench_fit) and train.txt (one
`<patch index> <label>` per training patch). Prints one line
`vfp-bench-result samples_per_s=... data_wait=... loop_s=... steps=...`, data_wait being the
share of the loop's time spent waiting for the next batch.
"""
import argparse
import math
import os
import sys
import time

import numpy
import torch


def network(arch, width):
    if arch == "seresnet50":
        from monai.networks.nets import SEResNet50
        return SEResNet50(spatial_dims=3, in_channels=1, num_classes=1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import model_step  # bench/model_step.py: vfp's fNet in torch.nn
    return model_step.build("fnet", 3, width, 0.2)


def transforms():
    from monai import transforms as t
    angle = math.radians(10)
    return t.Compose([
        t.RandFlipd(keys="image", prob=0.5, spatial_axis=2),
        t.RandAffined(keys="image", prob=1.0, rotate_range=(angle, angle, angle),
                      scale_range=(0.1, 0.1, 0.1), mode="bilinear", padding_mode="border"),
        t.RandShiftIntensityd(keys="image", offsets=0.02, prob=1.0),
        t.RandScaleIntensityd(keys="image", factors=0.05, prob=1.0),
        t.RandGaussianNoised(keys="image", prob=1.0, mean=0.0, std=0.01),
        t.ToTensord(keys="image", track_meta=False),
    ])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--arch", choices=["fnet", "seresnet50"], required=True)
    p.add_argument("--size", type=int, required=True, help="the patches' edge S")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    a = p.parse_args()

    import monai
    from monai.data import DataLoader, Dataset

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    monai.utils.set_determinism(seed=0)
    rows = [line.split() for line in open(os.path.join(a.data, "train.txt"))]
    raw = numpy.fromfile(os.path.join(a.data, "patches.f32"), dtype=numpy.float32)
    if raw.size % a.size ** 3:
        raise SystemExit(f"{a.data}/patches.f32 is not a stack of {a.size}³ cubes")
    patches = raw.reshape(-1, 1, a.size, a.size, a.size)
    items = [{"image": patches[int(i)], "label": numpy.float32(y)} for i, y in rows]
    loader = DataLoader(Dataset(items, transforms()), batch_size=a.batch, shuffle=True,
                        num_workers=1, persistent_workers=True)
    model = network(a.arch, a.width)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=a.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    wait = 0.0
    steps = 0
    start = time.perf_counter()
    for _ in range(a.epochs):
        asked = time.perf_counter()
        for batch in loader:
            wait += time.perf_counter() - asked
            optimizer.zero_grad(set_to_none=True)
            logits = model(batch["image"]).reshape(-1)
            loss_fn(logits, batch["label"].reshape(-1)).backward()
            optimizer.step()
            steps += 1
            asked = time.perf_counter()
    loop = time.perf_counter() - start
    samples = len(items) * a.epochs
    print(f"vfp-bench-result samples_per_s={samples / loop:.3f} data_wait={wait / loop:.4f} "
          f"loop_s={loop:.2f} steps={steps} torch={torch.__version__} monai={monai.__version__} "
          f"threads={torch.get_num_threads()} tunables={os.environ.get('GLIBC_TUNABLES', '-')}")


if __name__ == "__main__":
    main()
