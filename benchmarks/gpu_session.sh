#!/usr/bin/env bash
# The GPU measurements of the speed issues in one device call: training settings
# (benchmarks/train_speed.py) and/or evaluation's generation (benchmarks/generate_speed.py),
# real shapes, random weights. Results and logs go to $OUT (or benchmarks/results).
#
#   bash benchmarks/gpu_session.sh generate   # ~5 min on an H200 (estimate: compiles included)
#   bash benchmarks/gpu_session.sh train      # ~6 min
#   bash benchmarks/gpu_session.sh all
#   bash benchmarks/gpu_session.sh all --shape standin --models glm4-9b   # dry run on a CPU
#
# Arguments after the first go to both benchmarks (--shape, --models).
# The H200 image has torch, accelerate and pandas but older transformers (5.17) and no
# trl/datasets: carry the pinned versions as wheels. Once, in the repo root here:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl transformers==5.24.0 trl==1.16.0 \
#     datasets==5.2.0 peft==0.21.2 dill==0.4.1 multiprocess==0.70.19
# (add liger_kernel==0.8.5 and pass `--variants default liger` to time Liger: Qwen only)
# then call the device's `run` with carry [".whl"] and command
# "bash benchmarks/gpu_session.sh all" and a timeout that leaves room for a rerun.
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
failed=0  # a failing benchmark is reported, and the other one still runs
if [ "$what" = generate ] || [ "$what" = all ]; then
  python3 -m benchmarks.generate_speed --lora --profile --repeats 1 "$@" \
    --out "$out/generate_speed.json" 2>&1 | tee "$out/generate_speed.log" || failed=1
fi
if [ "$what" = train ] || [ "$what" = all ]; then
  python3 -m benchmarks.train_speed --steps 8 --warmup 2 "$@" \
    --out "$out/train_speed.json" 2>&1 | tee "$out/train_speed.log" || failed=1
fi
exit $failed
