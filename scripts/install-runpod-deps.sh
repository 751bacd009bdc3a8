#!/usr/bin/env bash
# Install the worker's Python stack onto persistent storage with uv: one venv per lock in
# <root>/stacks/<stamp>, <root>/stack pointing at the newest. Prints the stack's folder on stdout.
# Usage: scripts/install-runpod-deps.sh [--help]
#
# A complete stack is found by one short Python process (the stamp hashes the lock, the Python and the
# platform) without any lock; when its snapshot is not recorded as in the bucket, `stack.py snapshot`
# uploads it in the background (the worker serves meanwhile). Otherwise, under flock on
# <root>/install.lock, scripts/stack.py restores the bucket's snapshot of this stack, or installs it
# from the hash-checked wheelhouse (restored from the bucket, missing wheels fetched with pip and
# uploaded back) with `uv pip sync`; see its docstring.
#
# Variables read (defaults in brackets):
#   WORKER_ROOT            persistent root; unset: scripts/setup-backblaze-storage.sh is run and sourced
#   PYTHON                 the image's interpreter that runs the installer [python, else python3]
#   REQUIREMENTS_FILE      complete lock, every package pinned with == [requirements.txt of this repo]
#   INSTALL_LOCK_TIMEOUT_S longest wait for another process's install on the same root [1800]
#   INSTALL_MIN_FREE_MB, INSTALL_RETRIES, INSTALL_BACKOFF_S, INSTALL_TIMEOUT_S, INSTALL_DOWNLOAD_JOBS,
#   WHEELS_PREFIX, STACKS_PREFIX, STACK_SNAPSHOT, STACK_KEEP_DAYS, STACK_LOCK_STALE_S, FLASH_ATTN_WHEEL_URL,
#   FORCE_CUDA:
#                          read by scripts/stack.py (CONFIG.md)
# Exit status: 0 ready, 1 failure, 2 bad configuration.
set -euo pipefail

NAME=install-runpod-deps
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$HERE/lib/common.sh"

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; die 2 "unknown argument: $1" ;;
esac

if [[ -z "${WORKER_ROOT:-}" ]]; then  # run alone, not from startup-runpod.sh
  env_file=$(bash "$HERE/setup-backblaze-storage.sh") || exit $?
  # shellcheck source=/dev/null
  source "$env_file"
fi
if [[ -z "${PYTHON:-}" ]]; then
  PYTHON=$(command -v python || command -v python3) || die 2 "no python on PATH; set PYTHON"
fi
LOCK_TIMEOUT=${INSTALL_LOCK_TIMEOUT_S:-1800}
[[ "$LOCK_TIMEOUT" =~ ^[0-9]+$ ]] || die 2 "INSTALL_LOCK_TIMEOUT_S must be a whole number"

started=$(now_us)
status=0
"$PYTHON" -I -S "$HERE/stack_stamp.py" || status=$?
exec 9>>"$WORKER_ROOT/install.lock"
if ((status == 0 || status == 4)); then
  # what a killed installer left in its own temp folder goes now when no installer is running
  if [[ -n "$(ls -A "$WORKER_ROOT/tmp/install" 2>/dev/null)" ]] && flock -n 9; then
    rm -rf "${WORKER_ROOT:?}/tmp/install"
    log "removed the leftovers of an interrupted install in $WORKER_ROOT/tmp/install"
  fi
  if ((status == 4)); then  # complete, but no snapshot recorded as in the bucket (e.g. an upload was killed)
    nohup nice -n 10 env -u PYTHONPATH "$PYTHON" "$HERE/stack.py" snapshot </dev/null >&2 9>&- &
    log "the bucket's snapshot of this stack is not recorded on the volume: checking it in the background (pid $!)"
  fi
  log "nothing to do: the stack for this lock is complete ($(since "$started"))"
  exit 0
fi
((status == 3)) || exit "$status"

if ! flock -n 9; then
  log "waiting for the install lock $WORKER_ROOT/install.lock (another process is installing on this root)"
  flock -w "$LOCK_TIMEOUT" 9 || die 1 "gave up waiting ${LOCK_TIMEOUT}s for $WORKER_ROOT/install.lock"
fi
env -u PYTHONPATH "$PYTHON" "$HERE/stack.py" install
log "finished in $(since "$started")"
