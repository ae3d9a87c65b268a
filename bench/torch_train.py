"""Times training of xent's default LeNet in PyTorch, for bench/train.sh.

The network is the one `xent train` builds (package nn, NewLeNet):
conv 5x5 C1 (pad 2) -> ReLU -> maxpool 2 -> conv 5x5 C2 (pad 2) -> ReLU ->
maxpool 2 -> flatten -> FC H -> ReLU -> FC 10, softmax cross-entropy, Adam,
float32, on the first N MNIST training images read from the IDX files
(gzip). It prints one JSON object with the images per second of the timed
steps (after a warm-up).

    python3 torch_train.py DATA_DIR [--threads T] [--batch B] [--images N]
        [--conv1 C1] [--conv2 C2] [--hidden H] [--lr LR] [--warmup W]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(dir, name):
    for p in (os.path.join(dir, name), os.path.join(dir, name + ".gz")):
        if os.path.exists(p):
            return p
    raise SystemExit(f"torch_train.py: neither {name} nor {name}.gz in {dir}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--images", type=int, default=6400)
    ap.add_argument("--conv1", type=int, default=8)
    ap.add_argument("--conv2", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x = read_idx(find(a.data, "train-images-idx3-ubyte"))[: a.images]
    y = read_idx(find(a.data, "train-labels-idx1-ubyte"))[: a.images]
    x = torch.from_numpy(x.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(y.astype(np.int64))

    net = nn.Sequential(
        nn.Conv2d(1, a.conv1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(a.conv1, a.conv2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(a.conv2 * 7 * 7, a.hidden), nn.ReLU(),
        nn.Linear(a.hidden, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    perm = torch.randperm(len(y))
    steps = len(y) // a.batch

    def step(i):
        idx = perm[i * a.batch:(i + 1) * a.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(min(a.warmup, steps)):
        step(i)
    t0 = time.perf_counter()
    timed = 0
    for i in range(a.warmup, steps):
        last = step(i)
        timed += a.batch
    sec = time.perf_counter() - t0
    print(json.dumps({
        "torch": torch.__version__, "threads": a.threads, "batch": a.batch,
        "images": timed, "seconds": sec, "images_per_second": timed / sec,
        "last_loss": last,
    }))


if __name__ == "__main__":
    main()
