#!/usr/bin/env bash
# Times training of the default `xent train` network in xent and in PyTorch
# (Debian's python3-torch, /usr/bin/python3) in one run, with the same
# network, batch size, optimiser and thread count, and prints the images
# per second of each and their ratio.
#
#   bench/train.sh [THREADS] [IMAGES] [BATCH] [CONV1] [CONV2]
#
# xent: `xent train --limit IMAGES --epochs 1`, its images_per_second from
# metrics.json (training time only, evaluation excluded). PyTorch:
# bench/torch_train.py on the same first IMAGES training images, after 5
# warm-up steps. Defaults: 2 threads, 12800 images, batch 64, and the
# default network (conv1 8, conv2 16, hidden 128).
#
# Measured on two quiet cores (torch 1.13 from Debian), images/s:
#   conv1/conv2   xent   pytorch   xent/pytorch
#   8/16          7481    3860     1.94   (a second run: 9668 / 4982, 1.94)
#   16/32         3141    1968     1.60   (6400 images)
#   32/64         1476    1216     1.21   (6400 images)
# Rerun on the final code of a later stop (shared cores, several runs):
# 8/16 1.38–1.93 (10621 / 5507 in the last), 16/32 1.78–1.85, 32/64
# 1.51–1.58 (6400 images).
# While other jobs load the cores, PyTorch's OpenMP threads suffer more than
# xent's goroutines (8/16: 3467 vs 1294; 16/32: 2234 vs 187), so compare
# only runs made on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
images=${2:-12800}
batch=${3:-64}
conv1=${4:-8}
conv2=${5:-16}
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench/train.sh: PyTorch not found; run: apt-get install -y python3-torch" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/xent" ./cmd/xent
"$tmp/xent" train --limit "$images" --test-limit 500 --epochs 1 --batch "$batch" \
  --threads "$threads" --conv1 "$conv1" --conv2 "$conv2" --out "$tmp/run" > "$tmp/xent.log"
data=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"])' "$tmp/run/metrics.json")
"$py" bench/torch_train.py "$data" --threads "$threads" --batch "$batch" --images "$images" \
  --conv1 "$conv1" --conv2 "$conv2" > "$tmp/torch.json"

"$py" - "$tmp/run/metrics.json" "$tmp/torch.json" <<'PY'
import json, sys
x = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
xi = x["epochs"][0]["images_per_second"]
ti = t["images_per_second"]
print(f"network: conv1 {x['conv1']}, conv2 {x['conv2']}, hidden {x['hidden']}; "
      f"batch {x['batch']}, {x['threads']} threads, adam, {x['train_images']} images")
print(f"xent     {xi:8.0f} images/s")
print(f"pytorch  {ti:8.0f} images/s  (torch {t['torch']})")
print(f"xent / pytorch = {xi / ti:.2f}")
PY
