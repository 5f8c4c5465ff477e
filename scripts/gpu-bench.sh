#!/usr/bin/env bash
# On a GPU machine: builds Quiver with the CUDA build of ONNX Runtime (mvn -Pgpu) and runs the serve and train
# benchmarks on the GPU, printing their JSON lines. Not run on a GPU yet (no GPU was lent to this project).
#
# Needs: JDK 17, Maven, an NVIDIA driver with a CUDA 12 + cuDNN 9 runtime on the library path (what
# onnxruntime_gpu 1.23.2 loads), and, for training, a CUDA build of libtorch 2.7.1 for DJL
# (PYTORCH_LIBRARY_PATH and PYTORCH_FLAVOR=cu128, or a pre-filled ~/.djl.ai cache; see README "GPUs").
#
#   scripts/gpu-bench.sh [SIZE] [WORK_DIR]     # SIZE small (default) or qwen3-0.6b
#
# The build replaces api/target/quiver.jar with the GPU one (it also runs on the CPU); QUIVER_GPU_DEVICE picks
# the device (default cuda:0).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size="${1:-small}"
work="${2:-$root/quiver-bench}"
device="${QUIVER_GPU_DEVICE:-cuda:0}"

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2

(cd "$root" && mvn -B -q -Pgpu -DskipTests package) >&2
jar="$root/api/target/quiver.jar"
run() { java -Dai.djl.offline=true -XX:+UseParallelGC -jar "$jar" "$@" | grep '^{'; }

# serving: the same workload at batch 1 (the decode-bound figure) and at batch 8 with 4 adapters mixed
run bench serve --size "$size" --execution-provider "$device" --adapters 0 --concurrency 1 --prompt-len 128 \
    --gen-len 64 --work-dir "$work"
run bench serve --size "$size" --execution-provider "$device" --adapters 4 --concurrency 8 --prompt-len 128 \
    --gen-len 64 --work-dir "$work"
# training: DJL's PyTorch engine on the same GPU
run bench train --size "$size" --device "${device}" --work-dir "$work"
