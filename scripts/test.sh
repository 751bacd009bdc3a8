#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up (system packages + .venv), lint, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -k storage
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
