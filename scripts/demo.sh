#!/usr/bin/env bash
# The main job on the embedded defaults (local storage, no credentials): set up, store a timed
# subtitle file the way a tts/stt job does, then run `health` and `download` jobs through the
# RunPod SDK's local mode. SKIP_SETUP=1 skips the install step.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,4p' "$0" | sed 's/^# //'
  exit 0
fi

[[ "${SKIP_SETUP:-0}" == "1" ]] || bash scripts/setup.sh
export STORAGE_DIR="${STORAGE_DIR:-$PWD/storage}"
PY=.venv/bin/python

"$PY" - <<'PYEOF'
from f5worker.media.subtitles import CaptionOptions, Word, render_timing_files
from f5worker.settings import load_settings
from f5worker.storage import open_storage
from f5worker.storage.layout import timing_key

words = [Word(word=w, start=0.4 * i, end=0.4 * i + 0.35) for i, w in enumerate("Hello from the demo job.".split())]
storage = open_storage(load_settings())
for fmt, text in render_timing_files(words, ["srt"], CaptionOptions()).items():
    storage.put_bytes(timing_key("demo", fmt), text.encode())
PYEOF

run_job() {
  "$PY" runpod-handler.py --test_input "{\"input\": $1}" 2>&1
}
output=$(run_job '{"endpoint": "health"}')
grep -q "'status': 'ok'" <<<"$output" && echo "demo: health ok"
output=$(run_job '{"endpoint": "download", "job_id": "demo", "file": "srt", "delivery": "text"}')
grep -q "Hello from the demo job." <<<"$output" && echo "demo: download ok"
grep -o "'text': '[^']*'" <<<"$output" | head -n 1
