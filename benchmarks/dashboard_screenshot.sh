#!/usr/bin/env bash
# Screenshot of a JointNAS digits study in optuna-dashboard (headless Chromium).
#
#   benchmarks/dashboard_screenshot.sh [STUDY.toml] [OUT.png]
#
# 1. runs the study file (default studies/jointnas_digits.toml) into a fresh SQLite file,
# 2. `optnas report` attaches the summary note and the report figures to the study,
# 3. serves it with `optuna-dashboard` on 127.0.0.1 and renders the study page with headless
#    Chromium (Debian: apt-get install -y chromium) into OUT.png
#    (default benchmarks/results/dashboard.png).
# Environment: PYTHON_BIN_DIR (default .venv/bin), PORT (default 8765), KEEP_DIR=1 keeps the work dir.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
study_file="$(realpath "${1:-$repo/studies/jointnas_digits.toml}")"
out_png="$(realpath -m "${2:-$repo/benchmarks/results/dashboard.png}")"
bin="${PYTHON_BIN_DIR:-$repo/.venv/bin}"
port="${PORT:-8765}"
chromium_bin="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$chromium_bin" ]]; then
  echo "dashboard_screenshot: no chromium found (apt-get install -y chromium)" >&2
  exit 1
fi

work="$(mktemp -d)"
dash_pid=""
cleanup() {
  if [[ -n "$dash_pid" ]]; then kill "$dash_pid" 2>/dev/null || true; wait "$dash_pid" 2>/dev/null || true; fi
  if [[ "${KEEP_DIR:-0}" != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

db="$work/optnas.db"
url="sqlite:///$db"
name="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$study_file" | head -1)"
cd "$work"
echo "== optnas run $study_file -> $url (study $name)"
"$bin/optnas" run "$study_file" --storage "$url"
echo "== optnas report"
"$bin/optnas" report --storage "$url" --study-name "$name" --out "$work/report" --no-png

echo "== optuna-dashboard on 127.0.0.1:$port"
"$bin/optuna-dashboard" "$url" --host 127.0.0.1 --port "$port" >"$work/dashboard.log" 2>&1 &
dash_pid=$!
study_id=""
for _ in $(seq 1 60); do
  if study_id="$("$bin/python" - "$port" "$name" <<'EOF' 2>/dev/null
import json, sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as r:
    studies = json.load(r)["study_summaries"]
print(next(s["study_id"] for s in studies if s["study_name"] == name))
EOF
)"; then break; fi
  sleep 1
done
if [[ -z "$study_id" ]]; then
  echo "dashboard_screenshot: the dashboard did not come up" >&2
  cat "$work/dashboard.log" >&2
  exit 1
fi

page="http://127.0.0.1:$port/dashboard/studies/$study_id"
echo "== chromium --screenshot $page -> $out_png"
mkdir -p "$(dirname "$out_png")"
"$chromium_bin" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-quic \
  --no-first-run --disable-component-update --disable-sync --user-data-dir="$work/chrome" \
  --hide-scrollbars --window-size=1400,1000 --virtual-time-budget=8000 \
  --screenshot="$out_png" "$page" >"$work/chromium.log" 2>&1 || { cat "$work/chromium.log" >&2; exit 1; }
echo "wrote $out_png"
