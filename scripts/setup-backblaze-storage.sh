#!/usr/bin/env bash
# Prepare storage for the worker: check the S3 (Backblaze B2) variables, choose the persistent root,
# create its folders and write an env file that keeps installs, caches and downloads off the OS disk.
# Usage: scripts/setup-backblaze-storage.sh [--help]
#   Logs go to stderr; stdout is one line, the env file's path:  source "$(scripts/setup-backblaze-storage.sh)"
#
# Variables read:
#   AWS_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  all three (S3 storage) or none (local storage)
#   AWS_ENDPOINT_URL      optional S3 endpoint, http(s)://... (B2: https://s3.<region>.backblazeb2.com)
#   RUNPOD_VOLUME_PATH    the network volume, used as root when it is a writable directory (/runpod-volume)
#   CACHE_ROOT            root when there is no volume (/tmp/runpod-cache: container disk, lost on exit)
#   WORKER_ENV_FILE       where to write the env file (<root>/worker.env)
# The env file exports WORKER_ROOT, S3_CONFIGURED, TMPDIR, PIP_CACHE_DIR, UV_CACHE_DIR, PYTHONPYCACHEPREFIX
# (bytecode on the root, never in the image's app folder) and, unless already set, HF_HOME, TORCH_HOME,
# XDG_CACHE_HOME, MODEL_CACHE_DIR, NLTK_DATA, VOICE_CACHE_DIR, STORAGE_DIR. It never sets PYTHONPATH: the
# installed stack is a venv of its own (scripts/install-runpod-deps.sh), and an image with the stack baked
# in (SKIP_INSTALL=1) must not import packages a slim image left on the same volume.
# Exit status: 0 ready, 2 invalid storage variables, 1 anything else (for example an unwritable root).
set -euo pipefail

NAME=setup-backblaze-storage

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; die 2 "unknown argument: $1" ;;
esac

# --- storage variables: all three or none; names only, never values (the secret stays unprinted) ---
check_storage_variables() {
  local name present=() missing=()
  for name in AWS_S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
    if [[ -n "${!name:-}" ]]; then present+=("$name"); else missing+=("$name"); fi
  done
  if ((${#present[@]} == 0)); then
    log "S3 storage: not configured (AWS_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY unset): local storage, no wheel cache in a bucket"
    S3_CONFIGURED=0
    return
  fi
  if ((${#missing[@]} > 0)); then
    local list
    printf -v list '%s, ' "${missing[@]}"
    die 2 "S3 storage is half-configured: set all of AWS_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or none of them (missing: ${list%, })"
  fi
  local endpoint="${AWS_ENDPOINT_URL:-}" shown
  if [[ -n "$endpoint" && ! "$endpoint" =~ ^https?://[^/[:space:]]+ ]]; then
    die 2 "AWS_ENDPOINT_URL must be an http:// or https:// URL (B2: https://s3.<region>.backblazeb2.com)"
  fi
  if [[ -z "$endpoint" ]]; then
    shown="AWS default endpoint"
  elif [[ "$endpoint" == *@* ]]; then
    shown="endpoint set (contains credentials: not shown)"
  else
    shown="endpoint $endpoint"
  fi
  if [[ "$endpoint" == http://*backblazeb2.com* ]]; then
    log "warning: Backblaze B2 accepts HTTPS only; AWS_ENDPOINT_URL uses http://"
  fi
  log "S3 storage: bucket $AWS_S3_BUCKET, $shown (credentials set, not shown)"
  S3_CONFIGURED=1
}

# --- the persistent root: the network volume when mounted, else CACHE_ROOT on the container disk ---
choose_root() {
  local volume="${RUNPOD_VOLUME_PATH:-/runpod-volume}"
  if [[ -d "$volume" && -w "$volume" ]]; then
    ROOT=$(cd "$volume" && pwd -P)
    local kind="directory"
    if command -v mountpoint >/dev/null && mountpoint -q "$ROOT"; then kind="mount point"; fi
    log "root: network volume $ROOT ($kind)"
    return
  fi
  if [[ -d "$volume" ]]; then
    log "warning: $volume exists but is not writable: not using it"
  fi
  ROOT="${CACHE_ROOT:-/tmp/runpod-cache}"
  mkdir -p "$ROOT" || die 1 "cannot create CACHE_ROOT $ROOT"
  ROOT=$(cd "$ROOT" && pwd -P)
  log "root: $ROOT (CACHE_ROOT; no volume at $volume: container disk, installs are redone on every new worker)"
}

# Print "export NAME=value" with the value quoted for bash.
export_line() {
  printf 'export %s=%q\n' "$1" "$2"
}

# A location the user may already have chosen keeps its value; otherwise it goes under the root.
export_default() {
  local name=$1 default=$2
  if [[ -n "${!name:-}" ]]; then
    log "$name: keeping the value already set"
    export_line "$name" "${!name}"
  else
    export_line "$name" "$default"
  fi
}

write_env_file() {
  local env_file=$1 tmp
  mkdir -p "$(dirname "$env_file")"
  tmp=$(mktemp "$env_file.XXXXXX")
  {
    echo "# Written by scripts/$NAME.sh: worker paths on persistent storage (no credentials in here)."
    export_line WORKER_ROOT "$ROOT"
    export_line S3_CONFIGURED "$S3_CONFIGURED"
    export_line TMPDIR "$ROOT/tmp"
    export_line PIP_CACHE_DIR "$ROOT/pip-cache"
    export_line UV_CACHE_DIR "$ROOT/uv-cache"
    export_line PYTHONPYCACHEPREFIX "$ROOT/cache/pycache"
    export_default HF_HOME "$ROOT/hf-home"
    export_default XDG_CACHE_HOME "$ROOT/cache"
    export_default TORCH_HOME "$ROOT/cache/torch"
    export_default MODEL_CACHE_DIR "$ROOT/models"
    export_default NLTK_DATA "$ROOT/models/nltk_data"
    export_default VOICE_CACHE_DIR "$ROOT/voices"
    export_default STORAGE_DIR "$ROOT/storage"
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$env_file"  # atomic: workers sharing the volume never read half a file
}

main() {
  local started=$SECONDS dir free_mb env_file
  check_storage_variables
  choose_root
  for dir in stacks wheels models tmp pip-cache uv-cache hf-home cache voices; do
    mkdir -p "$ROOT/$dir" || die 1 "cannot create $ROOT/$dir"
  done
  [[ -w "$ROOT/stacks" && -w "$ROOT/tmp" ]] || die 1 "$ROOT is not writable"
  free_mb=$(df -Pk "$ROOT" | awk 'NR == 2 { print int($4 / 1024) }')
  log "folders ready under $ROOT (stacks wheels models tmp pip-cache uv-cache hf-home cache voices); ${free_mb} MB free"
  env_file="${WORKER_ENV_FILE:-$ROOT/worker.env}"
  write_env_file "$env_file"
  log "env file written: $env_file ($((SECONDS - started))s)"
  printf '%s\n' "$env_file"
}

main
