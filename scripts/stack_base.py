"""What stack.py and stack_snapshot.py share: the installer's log, its timed steps, the file hash, the bucket.

Its own module so that neither script imports the other's module for them (stack.py runs the snapshot
steps; the snapshot steps only need these). Standard library at import; f5worker only when called.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

PREFIX = "install-runpod-deps"


def log(message: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {PREFIX}: {message}", file=sys.stderr, flush=True)


def log_warnings_too() -> None:
    """The worker package's warnings (the bucket lock's) in the same shape as :func:`log`'s lines."""
    logging.basicConfig(
        level=logging.WARNING, format=f"[%(asctime)s] {PREFIX}: %(message)s", datefmt="%Y-%m-%d %H:%M:%S"
    )


class Step:
    """``with Step("name"):`` logs start, duration and failure of one step."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> Step:
        self.started = time.monotonic()
        self.note = ""
        log(f"{self.name}: start")
        return self

    def __exit__(self, kind, exc, _tb) -> None:
        took = time.monotonic() - self.started
        if kind is None:
            log(f"{self.name}: done in {took:.3f}s{f' ({self.note})' if self.note else ''}")
        else:
            log(f"{self.name}: FAILED after {took:.3f}s")


def sha256_file(path: Path) -> str:
    """The worker's own file hash (standard library only, so usable before the stack exists)."""
    from f5worker.files import sha256_file as file_digest

    return file_digest(path)


def storage():
    from f5worker.settings import load_settings
    from f5worker.storage import open_storage

    return open_storage(load_settings())
