#!/usr/bin/env bash
# One pass of the GPU checks of chromoskl on a machine with one NVIDIA GPU (sized for an H200),
# offline, in about 9 minutes: the CUDA tests, the estimator-against-raw-PyTorch throughput of
# every architecture (benchmarks/throughput.py), and ARMS Net (the papers' recipe) and the
# `chromoskl train --data` recipe trained on the full random split of Pommier's data, each for
# a wall-clock budget.
#
# What travels with the checkout (ignored by git, carried by hand): gpu-carry/ holding
#   - the wheels of skorch and kornia (pure Python) and kornia_rs (built for the machine's
#     Python 3.12), made here with
#       pip download --no-deps skorch==1.4.0 kornia==0.9.0 -d gpu-carry/
#       pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#           --platform manylinux_2_17_x86_64 kornia_rs==0.2.0 -d gpu-carry/
#   - the data, copied as gpu-carry/LowRes_13434_overlapping_pairs_regenerated.h5
#       cp ../shared/data/LowRes_13434_overlapping_pairs_regenerated.h5 gpu-carry/
# The machine's python3 must already hold torch (CUDA), scikit-learn, scikit-image, h5py,
# matplotlib, tabulate, tqdm, pytest; nothing is downloaded.
#
# Run, from the repository root:
#   bash benchmarks/gpu_check.sh                                   # on the GPU machine
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_SMOKE=1 bash benchmarks/gpu_check.sh   # CPU smoke, ~1 min
#
# Output under "${OUT:-gpu-out}" (kept to a few files: the device tool brings back at most 8):
#   summary.md                 machine, date, every step's exit status, time and numbers
#   throughput.json            benchmarks/throughput.py --arch all
#   throughput-bf16.json       unet and arms under bf16 autocast
#   throughput-channels-last.json   unet and arms in channels_last
#   arms-full-metrics.json     metrics.json of the ARMS Net run
#   unet-recipe-metrics.json   metrics.json of the `chromoskl train --data` recipe's run
#   logs.tar.gz                every step's log and the training runs' folders, without model.pt
# Work files (the models; ARMS Net's is ~75 MB) stay in $GPU_CHECK_WORK (default: a new /tmp folder).
#
# Environment switches:
#   GPU_CHECK_DEVICE   cuda (default) or cpu
#   GPU_CHECK_SMOKE=1  tiny sizes everywhere (for testing this script on a CPU)
#   GPU_CHECK_LIMIT_S  wall-clock limit of the whole script in seconds (default 540)
#   GPU_CHECK_DATA     the h5 file (default gpu-carry/..., else ../shared/data/...)
#   GPU_CHECK_ARMS_EXTRA  extra arguments for the ARMS run (e.g. "--lr-schedule onecycle")
#   GPU_CHECK_TP_IMAGES   images per throughput run (default 512)
#   PYTHON             the interpreter (default python3)
# A failing step is logged and the script goes on; it exits 0 once summary.md is written.

set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
PY=${PYTHON:-python3}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
SMOKE=${GPU_CHECK_SMOKE:-0}
LIMIT=${GPU_CHECK_LIMIT_S:-540}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${GPU_CHECK_WORK:-$(mktemp -d /tmp/gpu-check.XXXXXX)}
mkdir -p "$WORK/logs"
LOGS=$WORK/logs
STEPS=$WORK/steps.md          # one table row per step
NOTES=$WORK/notes.md          # numbers and remarks gathered along the way
: >"$STEPS"
: >"$NOTES"
START=$SECONDS
export PY ROOT CARRY
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 MPLBACKEND=Agg
# chromoskl from this checkout whether or not the editable install below works
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ "$DEVICE" = cpu ]; then
    # a shared CPU: one thread for everything the script starts
    export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
fi

CARRY=gpu-carry
DATA=${GPU_CHECK_DATA:-}
if [ -z "$DATA" ]; then
    for candidate in "$CARRY/LowRes_13434_overlapping_pairs_regenerated.h5" \
        ../shared/data/LowRes_13434_overlapping_pairs_regenerated.h5; do
        if [ -f "$candidate" ]; then DATA=$candidate; break; fi
    done
fi
if [ -n "$DATA" ] && [ -f "$DATA" ]; then
    # the tests marked realdata look for it there
    CHROMOSKL_DATA=$(cd "$(dirname "$DATA")" && pwd)
    export CHROMOSKL_DATA
fi

log() { echo "gpu_check [$((SECONDS - START)) s]: $*"; }
left() { echo $((LIMIT - (SECONDS - START))); }

# step NAME CAP RESERVE CMD...: run CMD with a timeout of min(CAP, time left - RESERVE) (the
# RESERVE keeps time for the steps after it), output to $LOGS/NAME.log, one row in $STEPS.
step() {
    local name=$1 cap=$2 reserve=$3
    shift 3
    local budget
    budget=$(($(left) - reserve))
    if [ "$budget" -gt "$cap" ]; then budget=$cap; fi
    if [ "$budget" -lt 10 ]; then
        log "$name: skipped, $(left) s left"
        echo "| $name | skipped (time) | 0 s | - |" >>"$STEPS"
        LAST_RC=skipped
        return 0
    fi
    log "$name: started, timeout ${budget} s"
    local began=$SECONDS
    if declare -F "$1" >/dev/null; then
        # a function of this script: timeout runs programs, so it runs a bash that defines it
        timeout -k 10 "$budget" bash -c "$(declare -f "$1"); $1" >"$LOGS/$name.log" 2>&1
    else
        timeout -k 10 "$budget" "$@" >"$LOGS/$name.log" 2>&1
    fi
    LAST_RC=$?
    local took=$((SECONDS - began))
    local verdict=ok
    if [ "$LAST_RC" = 124 ] || [ "$LAST_RC" = 137 ]; then
        verdict="timed out"
    elif [ "$LAST_RC" != 0 ]; then
        verdict=failed
    fi
    log "$name: rc $LAST_RC ($verdict) in $took s"
    echo "| $name | $LAST_RC ($verdict) | $took s | ${budget} s |" >>"$STEPS"
    if [ "$verdict" != ok ]; then
        {
            echo "### $name: $verdict (rc $LAST_RC), last lines of its log"
            echo '```'
            tail -n 15 "$LOGS/$name.log"
            echo '```'
            echo
        } >>"$NOTES"
    fi
    return 0
}

# ------------------------------------------------------------------ 0. install, offline
install() {
    # skorch and kornia (with its compiled kornia_rs) are what chromoskl needs beyond the
    # machine's image; their wheels travel in $CARRY
    local missing=()
    for module in skorch kornia; do
        "$PY" -c "import $module" 2>/dev/null || missing+=("$module")
    done
    if [ ${#missing[@]} = 0 ]; then
        echo "skorch and kornia already importable: no installs"
    else
        local wheels
        wheels=$(ls "$CARRY"/*.whl 2>/dev/null)
        if [ -z "$wheels" ]; then
            echo "missing ${missing[*]} and no wheels in $CARRY/ (see this script's header)"
            return 1
        fi
        # shellcheck disable=SC2086  # one argument per wheel
        "$PY" -m pip install -q --no-index --no-deps $wheels || return 1
        # setuptools and wheel come with the machine's python; nothing is fetched
        if "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e .; then
            echo "chromoskl installed (editable)"
        else
            echo "editable install failed: chromoskl is used through PYTHONPATH=$ROOT"
        fi
    fi
    # what skorch and chromoskl import, beyond torch and scikit-learn
    "$PY" - <<'EOF'
import importlib
missing = []
for name in ("skorch", "kornia", "tabulate", "tqdm", "h5py", "skimage", "matplotlib", "pytest", "chromoskl"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as error:  # noqa: BLE001
        missing.append(name)
        print(f"{name}: MISSING ({type(error).__name__}: {error})")
raise SystemExit(1 if missing else 0)
EOF
}
step install 60 470 install

# ------------------------------------------------------------------ environment
environment() {
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
        nvidia-smi
    else
        echo "no nvidia-smi"
    fi
    "$PY" - <<'EOF'
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "cudnn", torch.backends.cudnn.version(), "cuda available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(), torch.cuda.get_device_capability(),
          "bf16", torch.cuda.is_bf16_supported())
EOF
}
step environment 30 460 environment
MACHINE=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
MACHINE=${MACHINE:-"no NVIDIA GPU ($(uname -m), $(getconf _NPROCESSORS_ONLN) CPUs)"}
TORCH=$("$PY" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)' 2>/dev/null)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "n/a (no git here)")

# ------------------------------------------------------------------ 1. tests
TESTS_CAP=60
step tests-gpu "$TESTS_CAP" 440 "$PY" -m pytest -m gpu -q -p no:cacheprovider -rs tests
step tests-estimator "$TESTS_CAP" 420 "$PY" -m pytest -q -p no:cacheprovider -x \
    tests/test_estimator.py

# ------------------------------------------------------------------ 2. throughput
DATA_ARGS=()
if [ -n "$DATA" ] && [ -f "$DATA" ]; then DATA_ARGS=(--data "$DATA"); fi
if [ "$SMOKE" = 1 ]; then
    TP_ALL=(--arch unet arms --n-images 16 --epochs 1 --batch-size 8 --repeats 1 --threads 1
        --module base_channels=4 --module depth=2)
    TP_VARIANT=(--arch unet --n-images 16 --epochs 1 --batch-size 8 --repeats 1 --threads 1
        --module base_channels=4 --module depth=2)
    TP_CAP=60
    TP_VARIANT_CAP=40
else
    # a few seconds an architecture on an H200 (estimated, not yet measured): 512 images,
    # 1 + 3 x 2 epochs and 1 + 3 inference passes a side
    TP_N=${GPU_CHECK_TP_IMAGES:-512}
    TP_ALL=(--arch all --n-images "$TP_N" --epochs 2 --batch-size 32 --repeats 3)
    TP_VARIANT=(--arch unet arms --n-images "$TP_N" --epochs 2 --batch-size 32 --repeats 3)
    TP_CAP=120
    TP_VARIANT_CAP=45
fi
step throughput "$TP_CAP" 330 "$PY" benchmarks/throughput.py --device "$DEVICE" "${DATA_ARGS[@]}" \
    "${TP_ALL[@]}" --json "$OUT/throughput.json"
# unet and arms again under bf16 autocast (precision="bf16"), then in channels_last
step throughput-bf16 "$TP_VARIANT_CAP" 285 "$PY" benchmarks/throughput.py --device "$DEVICE" \
    "${DATA_ARGS[@]}" "${TP_VARIANT[@]}" --precision bf16 --json "$OUT/throughput-bf16.json"
step throughput-channels-last "$TP_VARIANT_CAP" 240 "$PY" benchmarks/throughput.py \
    --device "$DEVICE" "${DATA_ARGS[@]}" "${TP_VARIANT[@]}" --channels-last \
    --json "$OUT/throughput-channels-last.json"

# ------------------------------------------------------------------ 3. two training runs
# On the full random split of the real data, each for a wall-clock budget:
#   arms-full    ARMS Net with the papers' recipe: Adam lr 1e-3 constant, batch 32, ARMS's
#                AS-wBCE loss, the labels' A/B as given, whole images, no augmentation (the
#                paper names none; --data's recipe would add its one-pixel shifts); epochs
#                bounded by the budget (--epochs only caps it); bfloat16 autocast
#                (--precision auto) where the papers trained in float32;
#   unet-recipe  what `chromoskl train --data` does by default (the CPU recipe: U-Net
#                16-16-32-64-128, one-cycle planned over the budget, Dice + edge CE, the
#                swap-invariant loss with area decoding, one-pixel shifts, bf16, channels_last,
#                content boxes), on the raw labels and the random split here; on 2 CPU cores
#                the fixed-label form of it scored 0.9644 overlap IoU in 2 hours, with the
#                9 one-pixel shifts at test time (benchmarks/RESULTS.md, session 35).
# Each budget is at most its cap, less OVERHEAD seconds for loading, the held-out evaluation,
# the plots and the model file; ARMS leaves the recipe run its whole share.
if [ "$SMOKE" = 1 ]; then
    ARMS_ARGS=(--max-samples 64 --epochs 2 --batch-size 8 --module base_channels=4
        --module depth=2)
    RECIPE_ARGS=("${ARMS_ARGS[@]}")
    ARMS_MINUTES_CAP=0.2
    RECIPE_MINUTES_CAP=0.2
    TRAIN_OVERHEAD=60
else
    ARMS_ARGS=(--epochs 1000 --batch-size 32)
    RECIPE_ARGS=()
    ARMS_MINUTES_CAP=2
    RECIPE_MINUTES_CAP=1.5
    # measured on the H200 (2026-12-04): 20 s for ARMS Net, 24 s for the U-Net recipe
    TRAIN_OVERHEAD=40
fi
CLI_HELP=$("$PY" -m chromoskl.cli train --help 2>&1)
MISSING_FLAGS=""
for flag in --criterion --max-minutes --lr-schedule --split --lr --batch-size --device --arch \
    --data --out --pommier-labels; do
    if ! grep -qE -- "${flag}([] ,=]|$)" <<<"$CLI_HELP"; then
        MISSING_FLAGS="$MISSING_FLAGS $flag"
    fi
done
if [ -n "$MISSING_FLAGS" ]; then
    printf -- '- chromoskl train lacks%s in this checkout: the training steps fail on them.\n\n' \
        "$MISSING_FLAGS" >>"$NOTES"
fi

# train_run NAME CAP_MINUTES RESERVE ARGS...: `chromoskl train` on $DATA, random split, for
# min(CAP_MINUTES, what is left less TRAIN_OVERHEAD and RESERVE seconds) minutes of budget,
# into $WORK/NAME; its metrics.json is copied to $OUT/NAME-metrics.json.
train_run() {
    local name=$1 cap=$2 reserve=$3
    shift 3
    if [ -z "$DATA" ] || [ ! -f "$DATA" ]; then
        log "$name: no data file ($CARRY/LowRes_13434_overlapping_pairs_regenerated.h5)"
        echo "| $name | skipped (no data) | 0 s | - |" >>"$STEPS"
        return 0
    fi
    local minutes timeout
    minutes=$(awk -v left="$(left)" -v over="$TRAIN_OVERHEAD" -v res="$reserve" -v cap="$cap" \
        'BEGIN { m = (left - over - res - 15) / 60; if (m > cap) m = cap; printf "%.2f", m }')
    if awk -v m="$minutes" 'BEGIN { exit !(m < 0.1) }'; then
        log "$name: skipped, $(left) s left"
        echo "| $name | skipped (time) | 0 s | - |" >>"$STEPS"
        return 0
    fi
    timeout=$(awk -v m="$minutes" -v over="$TRAIN_OVERHEAD" 'BEGIN { printf "%d", m * 60 + over }')
    step "$name" "$timeout" "$reserve" "$PY" -m chromoskl.cli train --data "$DATA" \
        --split random --device "$DEVICE" --max-minutes "$minutes" --out "$WORK/$name" "$@"
    if [ -f "$WORK/$name/metrics.json" ]; then
        cp "$WORK/$name/metrics.json" "$OUT/$name-metrics.json"
    fi
}
RECIPE_RESERVE=$(awk -v m="$RECIPE_MINUTES_CAP" -v over="$TRAIN_OVERHEAD" \
    'BEGIN { printf "%d", m * 60 + over + 15 }')
# shellcheck disable=SC2086  # GPU_CHECK_ARMS_EXTRA is split on purpose
train_run arms-full "$ARMS_MINUTES_CAP" "$RECIPE_RESERVE" --arch arms --lr 1e-3 \
    --lr-schedule none --criterion as_wbce --ab-loss fixed --ab-decoding network \
    --content-margin none --augment none "${ARMS_ARGS[@]}" ${GPU_CHECK_ARMS_EXTRA:-}
train_run unet-recipe "$RECIPE_MINUTES_CAP" 0 --pommier-labels raw "${RECIPE_ARGS[@]}"

# ------------------------------------------------------------------ summary
summarise() {
    "$PY" - "$OUT" "$LOGS" <<'EOF'
import json, re, sys
from pathlib import Path

out, logs = Path(sys.argv[1]), Path(sys.argv[2])
lines = []
for name in ("tests-gpu", "tests-estimator"):
    log = logs / f"{name}.log"
    if log.is_file():
        found = re.findall(r"^=*\s*(\d+ (?:passed|failed|skipped|deselected|error).*?)\s*=*$",
                           log.read_text(), flags=re.M)
        lines.append(f"- {name}: {found[-1] if found else 'no pytest summary line'}")
for name in ("throughput", "throughput-bf16", "throughput-channels-last"):
    log = logs / f"{name}.log"
    if not log.is_file():
        continue
    text = log.read_text()
    table = []
    for line in text.splitlines():
        if line.startswith(("|", "- ", "throughput: ChromosomeSegmenter")):
            table.append(line)
        elif line.startswith("torch "):
            table += [line, ""]
    lines += ["", f"### {name}", ""] + (table or ["(no table: see the log)"])
for name in ("arms-full", "unet-recipe"):
    metrics = out / f"{name}-metrics.json"
    if not metrics.is_file():
        continue
    m = json.loads(metrics.read_text())
    test = m.get("test", {})
    lines += ["", f"### {name}", ""]
    lines.append(
        f"- {m.get('arch')} on {m.get('n_train')} training / {m.get('n_test')} held-out "
        f"images ({m.get('split')}), {m.get('epochs_run')} epochs in {m.get('fit_seconds')} s "
        f"of fit ({m.get('seconds')} s in all) on {m.get('device')}"
    )
    keys = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "pixel_accuracy")
    lines.append("- held out: " + ", ".join(
        f"{k} {test[k]:.4f}" for k in keys if isinstance(test.get(k), (int, float))))
    extra = {k: v for k, v in m.items() if k not in ("test", "module")}
    lines.append(f"- run: `{json.dumps(extra)}`")
print("\n".join(lines))
EOF
}
{
    echo "# chromoskl GPU check"
    echo
    echo "- machine: $MACHINE"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- torch: ${TORCH:-unknown}; device: $DEVICE; smoke: $SMOKE; commit: $COMMIT"
    echo "- data: ${DATA:-none (generated images)}"
    echo "- total: $((SECONDS - START)) s of a ${LIMIT} s limit"
    echo
    echo "| step | rc | took | timeout |"
    echo "|---|---|---|---|"
    cat "$STEPS"
    echo
    summarise 2>&1
    echo
    cat "$NOTES"
} >"$OUT/summary.md"
KEEP=(logs)
for name in arms-full unet-recipe; do
    if [ -d "$WORK/$name" ]; then KEEP+=("$name"); fi
done
tar -czf "$OUT/logs.tar.gz" -C "$WORK" --exclude='*.pt' "${KEEP[@]}" \
    || log "could not write logs.tar.gz"
cat "$OUT/summary.md"
log "done: $OUT (work files in $WORK)"
exit 0
