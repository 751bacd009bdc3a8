#!/usr/bin/env bash
# The container's command: prepare storage, install the stack, restore the model cache, then serve.
# Usage: scripts/startup-runpod.sh [--help] [HANDLER ARGS...]
#
#   1. scripts/setup-backblaze-storage.sh, then source the env file it writes (paths on the volume)
#   2. scripts/install-runpod-deps.sh: the stack (a venv on the root) for this lock; its Python runs
#      steps 3 and 4 (skipped with SKIP_INSTALL=1, for images with the stack baked in: PYTHON runs them)
#   3. python model_cache_init.py (models/ from the bucket into MODEL_CACHE_DIR)
#   4. exec python -u runpod-handler.py HANDLER ARGS...
# Each step logs its duration; a failing step stops the start with its reason and exit status.
#
# Variables read here: SKIP_INSTALL (1 skips step 2), PYTHON (the image's interpreter [python, else
# python3]); the steps read their own (see their --help and CONFIG.md).
set -euo pipefail

NAME=startup-runpod
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
APP=$(dirname "$HERE")

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# step NAME COMMAND...: run one start-up step, log its duration, stop the start when it fails.
step() {
  local name=$1 t0 status
  shift
  t0=$(now_us)
  log "$name: start"
  if "$@"; then
    log "$name: done in $(since "$t0")"
  else
    status=$?
    log "$name: FAILED after $(since "$t0") (exit $status); the worker does not start"
    exit "$status"
  fi
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  usage
  exit 0
fi

STARTED=$(now_us)
cd "$APP"
if [[ -z "${PYTHON:-}" ]]; then
  PYTHON=$(command -v python || command -v python3) || {
    log "no python on PATH; set PYTHON"
    exit 1
  }
fi
export PYTHON

ENV_FILE=""
write_env() {
  ENV_FILE=$(bash "$HERE/setup-backblaze-storage.sh")
}
step "storage setup" write_env
# shellcheck source=/dev/null
source "$ENV_FILE"
log "environment from $ENV_FILE: root $WORKER_ROOT"

STACK=""
install_stack() {
  STACK=$(bash "$HERE/install-runpod-deps.sh")
}
if [[ "${SKIP_INSTALL:-}" == 1 ]]; then
  log "install: skipped (SKIP_INSTALL=1)"
else
  step "install" install_stack
  PYTHON="$STACK/bin/python"
  log "stack: $STACK"
fi

step "model cache" "$PYTHON" model_cache_init.py
log "start-up steps finished in $(since "$STARTED"); starting the handler"
exec "$PYTHON" -u runpod-handler.py "$@"
