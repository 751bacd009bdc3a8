"""Repository hygiene a merge can break without any behaviour test noticing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFLICT_MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.MULTILINE)


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True).stdout
    files = []
    for name in names.splitlines():
        path = REPO / name
        if path.is_file() and b"\0" not in path.read_bytes()[:4096]:
            files.append(path)
    return files


def test_no_merge_conflict_markers_are_committed() -> None:
    """A README once shipped both sides of a conflict; every tracked text file is checked."""
    marked = [str(path.relative_to(REPO)) for path in tracked_text_files() if CONFLICT_MARKER.search(path.read_text())]
    assert not marked, f"conflict markers in {marked}"
