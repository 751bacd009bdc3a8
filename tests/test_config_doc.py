"""CONFIG.md names every environment variable the worker, its scripts and its image read.

Read from the source: `os.environ.get("X")` / `os.getenv("X")` / `os.environ["X"]` in Python, `${X:-...}`
and `${X:=...}` defaults in shell scripts and the Dockerfile, and every `Settings` field (pydantic-settings
reads each from the variable of its upper-cased name). Tests and benchmarks set their own variables.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from f5worker.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PYTHON_READ = re.compile(r'(?:environ\.get|getenv|environ\[)\(?\s*"([A-Z][A-Z0-9_]+)"')
SHELL_DEFAULT = re.compile(r"\$\{([A-Z][A-Z0-9_]+):[-=]")
SHELL_BUILTINS = {"EPOCHREALTIME"}


def variables_read() -> set[str]:
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True)
    found = {name.upper() for name in Settings.model_fields}
    for name in tracked.stdout.split():
        if name.startswith(("tests/", "bench/")):
            continue
        if name.endswith(".py"):
            found |= set(PYTHON_READ.findall((REPO / name).read_text()))
        elif name.endswith(".sh") or name == "Dockerfile.runpod":
            found |= set(SHELL_DEFAULT.findall((REPO / name).read_text()))
    return found - SHELL_BUILTINS


def test_every_variable_read_is_documented() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (REPO / "CONFIG.md").read_text()))
    read = variables_read()
    assert len(read) > 40  # the scan itself still finds what it should
    assert sorted(read - documented) == []


def documented_defaults() -> dict[str, str]:
    """The default column of every CONFIG.md table row, by variable."""
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", (REPO / "CONFIG.md").read_text(), re.M)
    return {name: cell.strip() for name, cell in rows}


def shown(value: object) -> str:
    """A default as CONFIG.md writes it: the value a variable would be set to."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_each_settings_default_is_the_one_config_md_shows(name: str) -> None:
    """The first value in backticks is the default; a field without one (None) is described in words."""
    cell = documented_defaults()[name.upper()]
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    first = re.search(r"`([^`]*)`", cell)
    if default is None:
        assert not re.fullmatch(r"`[^`]*`", cell), f"{name.upper()}: unset by default, but CONFIG.md shows {cell}"
    else:
        assert first and first.group(1) == shown(default), f"{name.upper()}: CONFIG.md {cell!r}, Settings {default!r}"
