#!/usr/bin/env bash
# Times PyTorch's cross_entropy beside `xent bench` on the same shapes and
# thread count, in one run, and prints the ratios (PyTorch time / xent time).
# Needs Debian's python3-torch (apt-get install -y python3-torch).
#
#   bench/torch.sh [THREADS] [RUNS] [SHAPES] [DTYPES]
#
# PyTorch runs twice: with its default kernels and, where the CPU has
# AVX-512, with ATEN_CPU_CAPABILITY=avx512. The last column is xent bench's
# hand-off latency for the row (see `xent help bench`): about 45 ns when the
# two cores share an L3 cache, 210 when they do not.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
runs=${2:-5}
shapes=${3:-4096x1000,256x32000,8192x32000,8x21x128x128}
dtypes=${4:-float32,float64}
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench/torch.sh: PyTorch not found; run: apt-get install -y python3-torch" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/xent" ./cmd/xent
"$tmp/xent" bench --json --threads "$threads" --runs "$runs" --shape "$shapes" \
  --dtype "$( [ "$dtypes" = float32,float64 ] && echo both || echo "$dtypes")" > "$tmp/xent.json"
"$py" bench/torch_loss.py "$threads" "$runs" "$shapes" "$dtypes" > "$tmp/torch.json"
# Forcing AVX-512 on a CPU without it kills PyTorch with SIGILL: there the
# avx512 columns say n/a.
if grep -qw avx512f /proc/cpuinfo; then
  ATEN_CPU_CAPABILITY=avx512 "$py" bench/torch_loss.py "$threads" "$runs" "$shapes" "$dtypes" > "$tmp/torch512.json"
else
  : > "$tmp/torch512.json"
fi

"$py" - "$tmp/xent.json" "$tmp/torch.json" "$tmp/torch512.json" <<'PY'
import json, sys
def load(p):
    return {(r["shape"], r["dtype"]): r for r in map(json.loads, open(p))}
x, t, t5 = (load(p) for p in sys.argv[1:4])
some = next(iter(t.values()))
forced = next(iter(t5.values()))['capability'] if t5 else "n/a (no AVX-512 here)"
print(f"PyTorch {some['torch']}, threads {some['threads']}; default capability {some['capability']}, "
      f"forced {forced}")
print(f"| shape | dtype | xent fwd ms | xent fwd+bwd ms | copy ms | torch fwd ms | torch fwd+bwd ms | torch/xent fwd+bwd | torch avx512 fwd+bwd ms | torch avx512/xent | hand-off ns |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for k, r in x.items():
    if k not in t:
        continue
    a = t[k]
    ms = lambda ns: ns / 1e6
    forced = "n/a | n/a"
    if k in t5:
        b = t5[k]
        forced = f"{ms(b['fwdbwd_ns']):.2f} | {b['fwdbwd_ns']/r['fwdbwd_ns']:.1f}x"
    print(f"| {k[0]} | {k[1]} | {ms(r['fwd_ns']):.2f} | {ms(r['fwdbwd_ns']):.2f} | {ms(r['copy_ns']):.2f} | "
          f"{ms(a['fwd_ns']):.2f} | {ms(a['fwdbwd_ns']):.2f} | {a['fwdbwd_ns']/r['fwdbwd_ns']:.1f}x | "
          f"{forced} | {r.get('handoff_ns', 0):.0f} |")
PY
