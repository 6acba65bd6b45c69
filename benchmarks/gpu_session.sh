#!/usr/bin/env bash
# Issue 24's GPU session in one call: the training benchmark (one model alone and packs of
# K, eager and compiled, CUDA graphs included), the device check (every architecture and
# initialisation on the GPU against the CPU), then the whole default study with
# `snakemake --cores 16 --resources gpu=1`, within one time budget; what it measured comes
# back under $OUT (the study's tables, figures, report, logs and job benchmarks: no models).
#
# Here, before the call (needs the package index and `apt-get install dataset-fashion-mnist`):
#     bash benchmarks/gpu_session.sh --prepare
# writes device/wheels (Snakemake and its dependencies as wheels, ~29 MB) and device/fashion-mnist
# (the four IDX files, ~31 MB): git-ignored, so the call carries them. The call, through
# the `device` tool (one command of at most 10 minutes; a session has 15 minutes of device
# time, start-up included):
#     run(command="bash benchmarks/gpu_session.sh", carry=["device"], timeout_s=600)
# Smoke test on a CPU, as the device's image is (torch and pandas, no Snakemake):
#     DEVICE=cpu STUDY_CONFIG=config/quick.yaml PACKS="3" SUBSET=2000 BUDGET=400 \
#         PYTHON=/path/to/venv/bin/python bash benchmarks/gpu_session.sh
#
# Knobs (environment): DEVICE (cuda), STUDY_CONFIG (config/config.yaml), BUDGET (seconds
# for the whole call, 540), PACKS ("3 8 32"), SUBSET (training images of the benchmarks,
# 10000), CORES (16), PYTHON (python3), OUT (results/gpu-session; the device tool sets it).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEVICE_DIR=$ROOT/device
IDX="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

if [[ "${1:-}" == "--prepare" ]]; then
    set -e
    mkdir -p "$DEVICE_DIR/wheels" "$DEVICE_DIR/fashion-mnist"
    PIP=${PIP:-$ROOT/.venv/bin/pip}
    "$PIP" wheel -q -w "$DEVICE_DIR/wheels" "snakemake==$("$ROOT/.venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("snakemake"))')" jinja2
    for f in $IDX; do cp /usr/share/datasets/fashion-mnist/$f "$DEVICE_DIR/fashion-mnist/"; done
    du -sh "$DEVICE_DIR"
    exit 0
fi

PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
STUDY_CONFIG=$ROOT/${STUDY_CONFIG:-config/config.yaml}
BUDGET=${BUDGET:-540}
PACKS=${PACKS:-3 8 32}
SUBSET=${SUBSET:-10000}
CORES=${CORES:-16}
OUT=${OUT:-$ROOT/results/gpu-session}
START=$(date +%s)
mkdir -p "$OUT"
left() { echo $((BUDGET - ($(date +%s) - START))); }
# step NAME SECONDS COMMAND...: run with a time limit, its output in $OUT/NAME.txt, its
# exit status and wall time in $OUT/steps.tsv (124: it ran out of time)
step() {
    local name=$1 limit=$2 t0 rc
    shift 2
    t0=$(date +%s)
    echo "== $name (at most ${limit} s): $*" | tee -a "$OUT/steps.log"
    timeout --signal=INT --kill-after=20 "$limit" "$@" > "$OUT/$name.txt" 2>&1
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >> "$OUT/steps.tsv"
    tail -n 25 "$OUT/$name.txt"
    return 0
}
printf 'step\texit\tseconds\n' > "$OUT/steps.tsv"

{ date -u; nvidia-smi 2>&1 || echo "no nvidia-smi"; nproc; free -g
  "$PYTHON" -c 'import sys, torch; print(sys.version); print("torch", torch.__version__,
"cuda", torch.version.cuda, "available", torch.cuda.is_available())'; } > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

# Snakemake from the carried wheels, into the device's Python (nothing else is reachable)
if ! "$PYTHON" -c "import snakemake" 2>/dev/null; then
    step install 120 "$PYTHON" -m pip install --no-index --find-links "$DEVICE_DIR/wheels" \
        snakemake jinja2
fi
export PYTHONPATH=$ROOT  # the workflow's package, as its Snakefile puts it first for jobs

step pack_speed $(( $(left) / 5 )) "$PYTHON" benchmarks/pack_speed.py --device "$DEVICE" \
    --packs $PACKS --compile --subset "$SUBSET" --data "$DEVICE_DIR/fashion-mnist"
step device_check $(( $(left) / 5 )) "$PYTHON" benchmarks/device_check.py --device "$DEVICE" \
    --subset "$SUBSET" --data "$DEVICE_DIR/fashion-mnist"

# The study, in a folder of its own, its data from the carried files; what is left of the
# budget, less a minute to copy and list what it made.
STUDY=$DEVICE_DIR/study
mkdir -p "$STUDY"
printf 'data:\n  sources: [%s]\ndevice: %s\n' "$DEVICE_DIR/fashion-mnist" "$DEVICE" \
    > "$STUDY/device.yaml"
step study $(( $(left) - 60 )) "$PYTHON" -m snakemake --snakefile "$ROOT/Snakefile" \
    --directory "$STUDY" --cores "$CORES" --resources gpu=1 \
    --configfile "$STUDY_CONFIG" "$STUDY/device.yaml"
for part in results/tables results/figures results/report.html results/benchmarks logs; do
    [[ -e "$STUDY/$part" ]] && mkdir -p "$OUT/study/$(dirname "$part")" \
        && cp -r "$STUDY/$part" "$OUT/study/$part"
done
# how far it got: finished trainings by kind, against the plan's count
{ grep -m1 "aeflow plan:" "$OUT/study.txt"
  for kind in autoencoder classifier; do
      echo "$kind models trained: $(find "$STUDY/results/$kind" -name history.parquet 2>/dev/null | wc -l)"
  done; } | tee "$OUT/progress.txt"
cat "$OUT/steps.tsv"
