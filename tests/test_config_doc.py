"""CONFIG.md names every environment variable the worker, its scripts and its image read.

Read from the source: `os.environ.get("X")` / `os.getenv("X")` / `os.environ["X"]` in Python, `${X:-...}`
and `${X:=...}` defaults in shell scripts and the Dockerfile, and every `Settings` field (pydantic-settings
reads each from the variable of its upper-cased name). Tests and benchmarks set their own variables.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

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
