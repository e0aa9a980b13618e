#!/usr/bin/env bash
# GPU check of the training path (issue 18), in one call of under 8 minutes on one H200.
#
# NOT RUN YET: no GPU was lent to the session that wrote this script, so no GPU figure exists in
# benchmarks/results/. Its sizes are estimates made to fit the time limit; every part has its own
# timeout and writes what it measured before the next part starts.
#
#   bash benchmarks/gpu_check.sh            (from the repository root; results into $OUT or
#                                           benchmarks/results)
#
# 1. benchmarks/train_throughput.py --gpu (about 4.5 min at most, --budget): images/s of
#    train_and_evaluate vs a bare PyTorch loop with torchvision transforms, cifar at 32 px and
#    fbnetv3 at 224 px, fp32 and bf16, 0/4/8 DataLoader workers, GPU utilization (nvidia-smi,
#    100 ms samples) and peak allocated memory -> train_throughput_gpu.{json,md}
# 2. A short JointNAS study on reduced CIFAR-10 with 2 `optnas run` workers sharing cuda:0
#    (bf16, 4 DataLoader workers each; about 2 min) -> jointnas_2workers_gpu.{json,md} and the
#    nvidia-smi samples jointnas_2workers_gpu_smi.csv (utilization, memory per sample).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python
export NO_ALBUMENTATIONS_UPDATE=1 OMP_NUM_THREADS=1
T0=$(date +%s)

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu_check_device.txt"

# --- 1. throughput -------------------------------------------------------------------------
timeout 285 "$PY" -m benchmarks.train_throughput --gpu --device cuda:0 --repeats 2 --budget 240 --out "$OUT" \
  || echo "gpu_check: throughput part ended with status $? (a partial report is kept)"
echo "gpu_check: throughput part done after $(( $(date +%s) - T0 )) s"

# --- 2. two JointNAS workers on one GPU ----------------------------------------------------
WORK="$(mktemp -d)"
CIFAR="${OPTNAS_CIFAR10:-$(cd .. && pwd)/shared/data/cifar10}"
cat > "$WORK/jointnas_gpu.toml" <<EOF
[study]
kind = "jointnas"
name = "jointnas-cifar10-gpu-2workers"
seed = 0

[dataset]
name = "imagefolder"
root = "$CIFAR"
subset = 4000
val_size = 1000

[space]
preset = "cifar"

[constraints]
max_macs = 4.0e6

[sampler]
batch_size = 4
n_batches = 2
pool_size = 256
final_batch_size = 2

[train]
epochs = 3
num_threads = 2
num_workers = 4
precision = "bf16"
channels_last = true
EOF
DB="sqlite:///$WORK/study.db"
nvidia-smi --id=0 --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 \
  > "$OUT/jointnas_2workers_gpu_smi.csv" &
SMI=$!
S1=$(date +%s)
PIDS=()
for w in 1 2; do
  timeout 150 "$PY" -m optnas run "$WORK/jointnas_gpu.toml" --storage "$DB" --device cuda:0 --timeout 120 > "$WORK/worker$w.log" 2>&1 &
  PIDS+=($!)
done
wait "${PIDS[@]}" || true
kill "$SMI" 2>/dev/null
S2=$(date +%s)
tail -n 20 "$WORK"/worker*.log
"$PY" - "$DB" "$OUT" "$((S2 - S1))" jointnas-cifar10-gpu-2workers <<'EOF'
"""Summary of the 2-worker study: trials per worker process, train seconds, GPU samples."""
import statistics
import sys
from pathlib import Path

import optuna

from benchmarks import _harness

url, out, wall, name = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
study = optuna.load_study(study_name=name, storage=url)
trials = study.get_trials(deepcopy=False)
done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
secs = [t.user_attrs["train_seconds"] for t in done if "train_seconds" in t.user_attrs]
util, mem = [], []
for line in (out / "jointnas_2workers_gpu_smi.csv").read_text().splitlines():
    parts = [p.strip() for p in line.split(",")]
    if len(parts) == 3:
        try:
            util.append(float(parts[1]))
            mem.append(float(parts[2]))
        except ValueError:
            pass
result = {
    "workers": 2,
    "wall_s": wall,
    "trials": {s.name: sum(t.state == s for t in trials) for s in optuna.trial.TrialState},
    "train_seconds": secs,
    "gpu_util_mean_pct": round(statistics.fmean(util), 1) if util else None,
    "gpu_mem_used_max_mib": max(mem) if mem else None,
    "trials_per_minute": round(60 * len(done) / wall, 2) if wall else None,
}
meta = _harness.metadata("bash benchmarks/gpu_check.sh (part 2)", device="cuda:0")
body = [
    "Two `optnas run` processes on one study (SQLite), both `--device cuda:0`, bf16, channels_last,",
    "4 DataLoader workers each, reduced CIFAR-10 (4,000 images), 3 epochs per trial.",
    "",
    *_harness.md_table(
        ["completed", "failed", "pruned", "median train s", "trials/min", "GPU util %", "max GPU MiB"],
        [[
            result["trials"].get("COMPLETE"), result["trials"].get("FAIL"), result["trials"].get("PRUNED"),
            round(statistics.median(secs), 2) if secs else None, result["trials_per_minute"],
            result["gpu_util_mean_pct"], result["gpu_mem_used_max_mib"],
        ]],
    ),
]
_harness.write_report(
    "jointnas_2workers_gpu", meta=meta, result=result, body=body,
    title="JointNAS: two workers sharing one GPU",
    headline=f"{len(done)} trials in {wall:.0f} s with 2 workers on one GPU "
    f"(GPU util {result['gpu_util_mean_pct']} %, max {result['gpu_mem_used_max_mib']} MiB)",
    results_dir=out,
)
print(result)
EOF
echo "gpu_check: done after $(( $(date +%s) - T0 )) s"
