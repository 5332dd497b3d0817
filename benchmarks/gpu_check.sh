#!/usr/bin/env bash
# One-shot device check of the evaluation engine on a GPU machine (e.g. through the session's
# device tool). Uses the machine's own python3 + torch; the engine needs nothing else.
# Writes env.txt, gpu_small.{json,log}, bench_gpu.{json,log} under $OUT.
# bubblewrap: the machine's, else a carried copy in .gpu/ (bwrap + its libs), made here with
#   mkdir -p .gpu/lib && cp /usr/bin/bwrap .gpu/ && cp -L $(ldd /usr/bin/bwrap | awk '/=>/{print $3}') .gpu/lib/
#   echo /.gpu/ >> .git/info/exclude        # then carry [".gpu"]
# The seccomp filter is compiled by pyseccomp (one pure-Python file) over the machine's
# libseccomp.so.2 (there wherever apt is); where the machine's Python lacks pyseccomp, carry it:
#   mkdir -p .gpu/py && cp .venv/lib/python3.*/site-packages/pyseccomp.py .gpu/py/
# If the sandbox cannot be built there the runs fall back to --unsafe-no-sandbox, and say so.
set -u
OUT=${OUT:-/tmp/crucible-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  nproc
  $PY -c "import torch,sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.cuda.get_device_name())"
  if ! command -v bwrap >/dev/null && [ -x .gpu/bwrap ]; then
    if ldd .gpu/bwrap | grep -q "not found"; then
      printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$PWD/.gpu/lib" "$PWD/.gpu/bwrap" > .gpu/bwrap.sh
      chmod +x .gpu/bwrap.sh
      export CRUCIBLE_BWRAP=$PWD/.gpu/bwrap.sh
    else
      export CRUCIBLE_BWRAP=$PWD/.gpu/bwrap
    fi
  fi
  if [ -d .gpu/py ]; then export PYTHONPATH=$PWD/.gpu/py${PYTHONPATH:+:$PYTHONPATH}; fi
  echo "bwrap: ${CRUCIBLE_BWRAP:-$(command -v bwrap)}"
} > "$OUT/env.txt" 2>&1
UNSAFE=""
if ! $PY -c "from evaluation.engine.sandbox import Sandbox; Sandbox(gpu=True)" >>"$OUT/env.txt" 2>&1; then
  UNSAFE="--unsafe-no-sandbox"
  echo "SANDBOX UNAVAILABLE: runs below use --unsafe-no-sandbox" >> "$OUT/env.txt"
fi
cat "$OUT/env.txt"

# 1. gpu-small's reference through the CLI, budget cut to 200 steps (unofficial).
timeout 170 $PY -m evaluation.engine run --benchmark gpu-small \
  --submission evaluation/engine/reference --seed 0 --budget-bytes $((64 * 1024 * 200)) \
  --out "$OUT/gpu_small.json" $UNSAFE 2>&1 | tee "$OUT/gpu_small.log" | tail -25
if [ -z "$UNSAFE" ] && ! grep -q '"status": "ok"' "$OUT/gpu_small.json" 2>/dev/null; then
  echo "sandboxed GPU run failed; retrying without the sandbox" | tee -a "$OUT/env.txt"
  UNSAFE="--unsafe-no-sandbox"
  timeout 110 $PY -m evaluation.engine run --benchmark gpu-small \
    --submission evaluation/engine/reference --seed 0 --budget-bytes $((64 * 1024 * 200)) \
    --out "$OUT/gpu_small_unsafe.json" $UNSAFE 2>&1 | tee "$OUT/gpu_small_unsafe.log" | tail -8
fi

# 2. Harness vs plain loop on gpu-small's reference, then MFU of the 12×768 model.
timeout 220 $PY benchmarks/bench_engine.py --device cuda --rounds 1 --steps 150 --mfu-steps 40 \
  --json "$OUT/bench_gpu.json" $UNSAFE 2>&1 | tee "$OUT/bench_gpu.log" | tail -20
