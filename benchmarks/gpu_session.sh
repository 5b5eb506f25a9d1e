#!/usr/bin/env bash
# Every GPU measurement of the project in one go, on any CUDA machine: real shapes, random
# weights, nothing downloaded. Results and logs go to $OUT (default benchmarks/results).
#
#   bash benchmarks/gpu_session.sh rehearsal  # the whole DAG offline at the real shapes: a few
#                                             # steps and turns per stage, peak memory per stage
#   bash benchmarks/gpu_session.sh generate   # evaluation's generation: batching, static cache, LoRA
#   bash benchmarks/gpu_session.sh train      # training settings: tokens/s, MFU, peak memory
#   bash benchmarks/gpu_session.sh merge      # what merging LoRA into bf16 weights rounds away
#   bash benchmarks/gpu_session.sh all
#   bash benchmarks/gpu_session.sh all --shape standin --models glm4-9b   # dry run on a CPU
#
# Arguments after the first go to the generate and train benchmarks (--shape, --models).
# Needs the project installed (`pip install -e .`) with a CUDA build of torch. On a machine
# without internet, download the project's pinned wheels elsewhere into ./.whl
# (`pip download -d .whl transformers==5.24.0 trl==1.16.0 datasets==5.2.0 peft==0.21.2 ...`)
# and copy that folder next to this repository: they are installed from there first.
# (add liger_kernel==0.8.5 and pass `--variants default liger` to time Liger: Qwen only)
set -euo pipefail
what=${1:-all}
shift || true
out=${OUT:-benchmarks/results}
mkdir -p "$out"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
python3 -c "import torch, transformers, trl, peft; print('torch', torch.__version__, \
'transformers', transformers.__version__, 'trl', trl.__version__, 'peft', peft.__version__, \
torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')" | tee "$out/versions.txt"
failed=0  # a failing benchmark is reported, and the others still run
shape=real
for arg in "$@"; do [ "$arg" = standin ] && shape=standin; done
if [ "$what" = rehearsal ] || [ "$what" = all ]; then
  python3 -m benchmarks.dress_rehearsal --shape "$shape" --out "$out/rehearsal" 2>&1 \
    | tee "$out/rehearsal.log" || failed=1
  rm -rf "$out/rehearsal/hf_home"  # the random checkpoints: tens of GB, and nothing to keep
fi
if [ "$what" = generate ] || [ "$what" = all ]; then
  python3 -m benchmarks.generate_speed --lora --profile --repeats 1 "$@" \
    --out "$out/generate_speed.json" 2>&1 | tee "$out/generate_speed.log" || failed=1
fi
if [ "$what" = train ] || [ "$what" = all ]; then
  python3 -m benchmarks.train_speed --steps 8 --warmup 2 "$@" \
    --out "$out/train_speed.json" 2>&1 | tee "$out/train_speed.log" || failed=1
fi
if [ "$what" = merge ] || [ "$what" = all ]; then
  python3 -m benchmarks.merge_precision --shape real --out "$out/merge_precision.json" 2>&1 \
    | tee "$out/merge_precision.log" || failed=1
fi
exit $failed
