"""A slice of requirements.txt: what the handler's ``health`` needs with TTS and Whisper off, at the lock's pins.

tests/container installs it into the image and bench/cold_start.py times the installer's routes on it: a
real stack from the real index (downloads, hashes, uv, the snapshot) in minutes instead of torch's gigabytes.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "scripts"))
from stack import canonical, lock_lines  # noqa: E402

# What `health` imports with TTS and Whisper off (torch is optional there: a missing one means CPU).
SLICE_ROOTS = (
    "runpod",
    "pydantic-settings",
    "boto3",
    "numpy",
    "soundfile",
    "soxr",
    "pysubs2",
    "filelock",
    "requests",
    "av",
    "num2words",
    "idna",
)


def needed(roots=SLICE_ROOTS) -> set[str]:
    """``roots`` and everything they require, extras included (``aiohttp[speedups]``), by canonical name
    (read from this venv's installed metadata): the slice is complete, as pip's hash-checking mode needs."""
    from packaging.requirements import Requirement

    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset()) for root in roots]
    while todo:
        name, extras = todo.pop()
        name = canonical(name)
        new = {extra for extra in {"", *extras} if (name, extra) not in seen}
        if not new:
            continue
        seen |= {(name, extra) for extra in new}
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or any(requirement.marker.evaluate({"extra": extra}) for extra in new):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _extra in seen}


def lock_slice(dest: Path, lock: Path = REPO / "requirements.txt", roots=SLICE_ROOTS) -> Path:
    """Write the lock's entries (pin, marker and ``--hash`` options, one line each) for :func:`needed` to ``dest``."""
    wanted = needed(roots)
    lines = []
    for _number, line in lock_lines(lock):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line)
        if match and canonical(match.group(1)) in wanted:
            lines.append(line)
    dest.write_text("\n".join(lines) + "\n")
    return dest
