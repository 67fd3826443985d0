#!/usr/bin/env python3
"""PyTorch CPU baseline for `bitsmnist train --method gradient`: the same nets, trained the
same way, timed the same way (examples per second over the epoch's mini-batches).

The nets: `--arch conv16x3,pool2,conv32x3,pool2,256` (28x28x1 -> 16 filters 3x3, padding 1
-> max-pool 2 -> 32 filters 3x3 -> max-pool 2 -> 1568 -> 256 -> 10) and `--hidden 2048,2048`
(784 -> 2048 -> 2048 -> 10). Weights are the signs of latent weights clipped to [-1, 1],
activations are signs with the straight-through gradient (passed where the input is within
[-1, 1]), batch normalisation follows every layer, the pool takes the batch-norm outputs
before the sign, Adam (lr 5e-3), batch 100, 2 threads. Inputs are the embedded 10,000
training digits as ±1 (-1 where the grey level is 128 or more); convolution padding is +1,
as in the project. No augmentation, no learning-rate schedule, and no end-of-run
re-estimation of the batch statistics: this measures the training steps only, which is the
project's `epoch 1` line (its last epoch adds the re-estimation).

Usage (a virtual environment with torch, outside the repository):

    python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch
    /work/torch-venv/bin/python scripts/pytorch-baseline.py conv --epochs 1
    /work/torch-venv/bin/python scripts/pytorch-baseline.py dense --epochs 1
"""

import argparse
import gzip
import os
import pathlib
import struct
import time

# On a shared machine OpenMP's spinning barriers wait a whole time slice whenever the other
# thread is descheduled (10x slower measured here); passive waiting is what rayon does too.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402 (after the environment it reads)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parent.parent / "bitsmnist-core" / "data" / "mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


class SignSTE(torch.autograd.Function):
    """sign(x) (+1 for x >= 0) forward, the gradient passed where |x| <= 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class WeightSign(torch.autograd.Function):
    """The forward pass uses sign(w); the gradient passes to w where |w| <= 1."""

    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return torch.where(w >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return g * (w.abs() <= 1).to(g.dtype)


class BitLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, WeightSign.apply(self.weight))


class BitConv(nn.Conv2d):
    def forward(self, x):
        # Padding with +1 (the exported 0-bit), not zeros.
        x = F.pad(x, (1, 1, 1, 1), value=1.0)
        return F.conv2d(x, WeightSign.apply(self.weight))


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = BitConv(1, 16, 3, bias=False), nn.BatchNorm2d(16, eps=1e-4)
        self.c2, self.b2 = BitConv(16, 32, 3, bias=False), nn.BatchNorm2d(32, eps=1e-4)
        self.d1, self.b3 = BitLinear(1568, 256, bias=False), nn.BatchNorm1d(256, eps=1e-4)
        self.d2, self.b4 = BitLinear(256, 10, bias=False), nn.BatchNorm1d(10, eps=1e-4)

    def forward(self, x):
        x = SignSTE.apply(F.max_pool2d(self.b1(self.c1(x.view(-1, 1, 28, 28))), 2))
        x = SignSTE.apply(F.max_pool2d(self.b2(self.c2(x)), 2))
        x = SignSTE.apply(self.b3(self.d1(x.flatten(1))))
        return self.b4(self.d2(x))


class DenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.d1, self.b1 = BitLinear(784, 2048, bias=False), nn.BatchNorm1d(2048, eps=1e-4)
        self.d2, self.b2 = BitLinear(2048, 2048, bias=False), nn.BatchNorm1d(2048, eps=1e-4)
        self.d3, self.b3 = BitLinear(2048, 10, bias=False), nn.BatchNorm1d(10, eps=1e-4)

    def forward(self, x):
        x = SignSTE.apply(self.b1(self.d1(x)))
        x = SignSTE.apply(self.b2(self.d2(x)))
        return self.b3(self.d3(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("net", choices=["conv", "dense"])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images = read_idx(DATA / "train-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(DATA / "train-labels-idx1-ubyte.gz").long()
    x = torch.where(images >= 128, -1.0, 1.0)
    net = ConvNet() if args.net == "conv" else DenseNet()
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() > 1:
                p.uniform_(-0.5, 0.5)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    n, bs = len(x), args.batch_size
    for epoch in range(args.epochs):
        order = torch.randperm(n)
        t0 = time.perf_counter()
        seen = correct = 0
        for k in range(n // bs):
            idx = order[k * bs : (k + 1) * bs]
            logits = net(x[idx])
            loss = F.cross_entropy(logits, labels[idx])
            opt.zero_grad(set_to_none=False)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for m in net.modules():
                    if isinstance(m, (BitLinear, BitConv)):
                        m.weight.clamp_(-1, 1)
            seen += bs
            correct += (logits.argmax(1) == labels[idx]).sum().item()
        secs = time.perf_counter() - t0
        print(
            f"pytorch {torch.__version__} {args.net} epoch {epoch + 1}/{args.epochs}  "
            f"train {100 * correct / seen:.2f}%  {seen / secs:.0f} ex/s  {secs:.1f} s  "
            f"{args.threads} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}"
        )


if __name__ == "__main__":
    main()
