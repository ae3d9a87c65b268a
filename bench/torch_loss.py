#!/usr/bin/python3
"""Times PyTorch's F.cross_entropy (index targets) forward and forward+backward
on the shapes of `xent bench`, and prints one JSON object per row with the
same field names (fwd_ns, fwdbwd_ns), median of several runs after a warm-up.

Usage: torch_loss.py THREADS RUNS SHAPE[,SHAPE...] DTYPE[,DTYPE...]
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(runs, f):
    f()
    out = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        f()
        out.append(time.perf_counter_ns() - t)
    return int(statistics.median(out))


def main():
    threads, runs = int(sys.argv[1]), int(sys.argv[2])
    shapes = [[int(d) for d in s.split("x")] for s in sys.argv[3].split(",")]
    dtypes = sys.argv[4].split(",")
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    for shape in shapes:
        for dt in dtypes:
            dtype = {"float32": torch.float32, "float64": torch.float64}[dt]
            x = (torch.randn(shape, generator=g, dtype=dtype) * 3)
            tshape = [shape[0]] + shape[2:]
            y = torch.randint(0, shape[1], tshape, generator=g)

            def fwd():
                with torch.no_grad():
                    F.cross_entropy(x, y)

            xg = x.clone().requires_grad_(True)

            def fwdbwd():
                xg.grad = None
                F.cross_entropy(xg, y).backward()

            row = {
                "shape": "x".join(map(str, shape)),
                "dtype": dt,
                "kind": "index",
                "threads": torch.get_num_threads(),
                "fwd_ns": timed(runs, fwd),
                "fwdbwd_ns": timed(runs, fwdbwd),
                "torch": torch.__version__,
                "capability": torch.backends.cpu.get_cpu_capability()
                if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability")
                else os.environ.get("ATEN_CPU_CAPABILITY", "default"),
            }
            print(json.dumps(row), flush=True)
            del x, xg, y


if __name__ == "__main__":
    main()
