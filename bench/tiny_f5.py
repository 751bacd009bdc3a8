"""What the F5-TTS benchmarks share: the tiny random models, built once per run, unless F5_* name real ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def use_tiny_f5_unless_configured(work: Path) -> None:
    """Without ``F5_CKPT_FILE`` in the environment: build the tiny models under ``work`` and point
    the ``F5_*`` variables at them (what the worker's loader reads)."""
    if os.environ.get("F5_CKPT_FILE"):
        return
    subprocess.run(
        [sys.executable, str(REPO / "scripts/make-tiny-models.py"), str(work / "tiny")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for line in (work / "tiny" / "tiny.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.startswith("F5_"):
            os.environ[key] = value
