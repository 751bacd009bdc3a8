# shellcheck shell=bash
# Helpers shared by the start-up scripts: usage from the header comment, logging to stderr with
# the script's NAME, fatal errors with an exit status, and microsecond timing for step durations.

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

log() {
  printf '[%(%Y-%m-%d %H:%M:%S)T] %s: %s\n' -1 "$NAME" "$*" >&2
}

die() {
  local status=$1
  shift
  log "error: $*"
  exit "$status"
}

now_us() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    printf '%s' "${EPOCHREALTIME//[!0-9]/}"
  else
    date +%s%6N
  fi
}

since() {
  local us=$(($(now_us) - $1))
  printf '%d.%03ds' $((us / 1000000)) $(((us / 1000) % 1000))
}
