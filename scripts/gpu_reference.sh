#!/usr/bin/env bash
# The GPU reference run (issue 26; docs/gpu.md): the `gpu` profile on one GPU, its report and a
# throughput table, in one call.
#
#   scripts/gpu_reference.sh WORKDIR [DELIVER]
#
# WORKDIR receives everything: store/ (result store, checkpoints, training curves), report/
# (REPORT.md, plots, results.csv; the throughput table appended), throughput.csv/.md, run.log and gpu-report.tar.gz (report/,
# throughput.*, the store's cells and curves, run.log; no checkpoints). DELIVER, when given (the
# device machine's $OUT), receives only the few files to bring back: gpu-report.tar.gz, REPORT.md,
# throughput.md and run.log (written there as the run goes, so it survives a kill).
#
# Installs nothing: it needs python3 with torch, pytorch-lightning, torchmetrics, pandas, rich,
# matplotlib, scipy, pillow, filelock (the GPU image has them). The checkout is put on PYTHONPATH
# and the methods' entry points are declared by a generated .dist-info (no pip install).
# Data: .gpu-data/ of the checkout (git-ignored): cifar10-jpeg.tar.gz, tinyimagenet-val-32.tar.gz,
# the MNIST and Fashion-MNIST test files and their SHA256SUMS lines (make it with
# scripts/gpu_data.sh). Every knob has a default for the H200 run:
#   SPINDROP_GPU_PROFILE (gpu)        SPINDROP_GPU_ACCELERATOR (gpu)   SPINDROP_GPU_DATASETS (cifar10)
#   SPINDROP_GPU_BUDGET_S (420: the runner is interrupted then; finished cells are kept and reported)
#   SPINDROP_GPU_SUITES (accuracy calibration ood shift robustness modules energy)
#   SPINDROP_GPU_METHODS (every registered method but the deep ensemble, whose M members are M - 1
#       more trainings that the budget does not hold; name it to measure it)
#   SPINDROP_GPU_DATA (<checkout>/.gpu-data)   SPINDROP_CACHE (WORKDIR/cache)   PYTHON (python3)
#   SPINDROP_KERNELS (torch: the CPU kernel is not built; the GPU runs the torch path)
#   SPINDROP_GPU_THROUGHPUT_IMAGES (5000: test images timed per network for MC images/s)
# The CPU dry run (smoke sizes): SPINDROP_GPU_PROFILE=smoke SPINDROP_GPU_ACCELERATOR=cpu scripts/gpu_reference.sh /tmp/dry
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: scripts/gpu_reference.sh WORKDIR [DELIVER]" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mkdir -p "$1" && cd "$1" && pwd)
DELIVER=${2:-}
PROFILE=${SPINDROP_GPU_PROFILE:-gpu}
ACCEL=${SPINDROP_GPU_ACCELERATOR:-gpu}
DATASETS=${SPINDROP_GPU_DATASETS:-cifar10}
BUDGET=${SPINDROP_GPU_BUDGET_S:-420}
SUITES=${SPINDROP_GPU_SUITES:-accuracy calibration ood shift robustness modules energy}
DATA=${SPINDROP_GPU_DATA:-$ROOT/.gpu-data}
PY=${PYTHON:-python3}
THROUGHPUT_IMAGES=${SPINDROP_GPU_THROUGHPUT_IMAGES:-5000}
export PYTHONUNBUFFERED=1 SPINDROP_DATA_ROOT="$DATA" SPINDROP_CACHE="${SPINDROP_CACHE:-$WORK/cache}"
# SpinDrop's GPU path is the torch fast path; the CPU kernel is not built (nor named in the fingerprints)
export SPINDROP_KERNELS="${SPINDROP_KERNELS:-torch}"
mkdir -p "$SPINDROP_CACHE"

LOG=$WORK/run.log
if [ -n "$DELIVER" ]; then
    mkdir -p "$DELIVER"
    LOG=$(cd "$DELIVER" && pwd)/run.log
fi
exec > >(tee -a "$LOG") 2>&1
step() { echo "== $(date -u +%H:%M:%S) [$((SECONDS))s] $*"; }

step "spindrop-bench GPU reference: profile $PROFILE, accelerator $ACCEL, datasets $DATASETS, budget ${BUDGET}s"
step "checkout $ROOT at $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo 'unknown commit')"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
if [ ! -f "$DATA/SHA256SUMS" ]; then
    echo "error: $DATA/SHA256SUMS is missing: run scripts/gpu_data.sh (copies the data into .gpu-data/)" >&2
    exit 2
fi

# the methods' entry points without installing the package (spindrop.registry reads them)
META=$WORK/meta
"$PY" - "$ROOT/pyproject.toml" "$META" <<'EOF' || exit 2
import sys, tomllib
from pathlib import Path
project = tomllib.loads(Path(sys.argv[1]).read_text())["project"]
info = Path(sys.argv[2]) / f"spindrop_bench-{project['version']}.dist-info"
info.mkdir(parents=True, exist_ok=True)
(info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
lines = [f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
         for group, eps in project["entry-points"].items()]
(info / "entry_points.txt").write_text("\n".join(lines))
EOF
export PYTHONPATH="$ROOT:$META${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT" || exit 2
"$PY" - <<'EOF' || exit 2
import platform, torch, pytorch_lightning, torchmetrics
from spindrop.registry import list_methods
cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
print(f"python {platform.python_version()}, torch {torch.__version__} ({cuda}), "
      f"lightning {pytorch_lightning.__version__}, torchmetrics {torchmetrics.__version__}; "
      f"methods: {', '.join(list_methods())}")
EOF

METHODS=${SPINDROP_GPU_METHODS:-$("$PY" -c "from spindrop.registry import list_methods
print(' '.join(m for m in list_methods() if m != 'ensemble'))")}

# shellcheck disable=SC2086  # SUITES, METHODS and DATASETS are word lists
step "run: python -m suites.run --suite $SUITES --methods $METHODS --profile $PROFILE --datasets $DATASETS --accelerator $ACCEL"
timeout -s INT -k 30 "$BUDGET" "$PY" -m suites.run --suite $SUITES --methods $METHODS --profile "$PROFILE" \
    --datasets $DATASETS --accelerator "$ACCEL" --devices 1 --out "$WORK/store" --no-report
status=$?
case $status in
    0) step "run: every cell finished" ;;
    1) step "run: finished; some cells failed (listed above; the report shows them)" ;;
    124|130) step "run: stopped at the ${BUDGET}s budget (exit $status); the finished cells are reported" ;;
    *) step "run: exit status $status" ;;
esac

step "report"
"$PY" -m reports.render "$WORK/store" --report-dir "$WORK/report" --quiet || step "report: failed"

step "throughput"
"$PY" -m suites.throughput "$WORK/store" --accelerator "$ACCEL" --images "$THROUGHPUT_IMAGES" --to "$WORK" \
    || step "throughput: failed"
if [ -f "$WORK/throughput.md" ] && [ -f "$WORK/report/REPORT.md" ]; then
    cp "$WORK/throughput.md" "$WORK/throughput.csv" "$WORK/report/"  # the report names the GPU and its rates
    { echo; sed 's/^# /## /' "$WORK/throughput.md"; } >> "$WORK/report/REPORT.md"
fi

step "pack"
( cd "$WORK" && tar czf gpu-report.tar.gz --exclude='*.pt' --exclude='*.lock' --exclude='*.tmp*' \
    $(ls -d report throughput.csv throughput.md store/results store/logs store/checkpoints store/runs.json \
      store/results.csv 2>/dev/null) ) || step "pack: failed"
if [ -n "$DELIVER" ]; then
    for f in gpu-report.tar.gz report/REPORT.md throughput.md; do
        [ -f "$WORK/$f" ] && cp "$WORK/$f" "$DELIVER/"
    done
    ls -l "$DELIVER"
fi
step "done (run exit $status): $WORK"
sleep 1  # let tee write the log's last lines before the caller collects it
exit "$status"
