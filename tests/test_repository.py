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


def layout_rows() -> list[tuple[list[str], str]]:
    """README's layout table as (the paths of the first column, the text of the second)."""
    section = (REPO / "README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = line.split(" | ")
        if line.startswith("| `") and len(cells) >= 2:
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1]))
    return rows


def test_the_readme_layout_table_names_only_what_exists() -> None:
    """A bare name after a path is beside it (`f5worker/voices.py`, `reference_cache.py`); a module a
    row's text names (`aligner.py`) is inside that row's folders."""
    rows = layout_rows()
    assert len(rows) > 10
    missing = []
    for paths, text in rows:
        folders = []
        base = REPO
        for name in paths:
            path = REPO / name if "/" in name or not folders else base / name
            if not path.exists():
                missing.append(name)
            base = path if path.is_dir() else path.parent
            folders.append(base)
        for module in re.findall(r"`([\w-]+\.(?:py|sh))`", text):
            if not any(list(folder.rglob(module)) for folder in folders):
                missing.append(f"{module} (named for {paths[0]})")
    assert not missing, missing


def test_every_package_of_the_worker_is_in_the_readme_layout_table() -> None:
    named = {name.rstrip("/") for paths, _text in layout_rows() for name in paths}
    packages = {
        str(init.parent.relative_to(REPO))
        for init in (REPO / "f5worker").rglob("__init__.py")
        if init.parent.name != "f5worker"
    }
    assert packages <= named, sorted(packages - named)
