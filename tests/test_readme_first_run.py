"""The README's two commands on a fresh checkout: ``bash scripts/demo.sh``, then ``bash scripts/test.sh``.

Why this test exists: every other test runs in the suite's own, fully installed ``.venv``, so a script
that leans on something only the test tools install (the offline demo's Whisper once came only with
``setup.sh --test``) passes all of them and still fails for a newcomer. This one copies the working
tree as a clone holds it (tracked and not-ignored files: no ``.venv``, ``storage`` or ``tiny-models``),
lets the scripts create a new ``.venv``, and runs the commands as the README says.

It is the suite's only fresh install, and its slowest test: uv's cache is warm (the suite's own
install filled it) and ``UV_LINK_MODE=hardlink`` links the cached files instead of copying 8 GB, so the
install takes tens of seconds; the demo then starts the worker once (imports and the tiny models).
``test.sh`` cannot run the whole suite from inside the suite: it runs its setup (the test tools into
the new ``.venv``), the lint, and one small test chosen through its pass-through pytest arguments.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

DROPPED = ("AWS_", "RUNPOD_", "GOOGLE_", "F5_", "PYTEST_", "VIRTUAL_ENV", "PYTHONPATH", "CONDA_PREFIX")
DROPPED_NAMES = ("WHISPER_MODEL", "STORAGE_DIR", "ALIGN_MODEL", "TIMING_ENGINES", "NLTK_DATA", "SKIP_SETUP")


def fresh_checkout(dest: Path) -> Path:
    """The files a clone of this working tree would have (uncommitted edits included, ignored files not)."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and not source.is_symlink():  # deleted-but-tracked files are skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def newcomer_env(home: Path) -> dict[str, str]:
    """A shell as a newcomer has it: no worker settings, no active venv, no model hub (nothing to reach)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED) and k not in DROPPED_NAMES}
    venv_bin = str(Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        UV_LINK_MODE="hardlink",
        HF_HOME=str(home / "hf"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    env.setdefault(
        "UV_CACHE_DIR",
        subprocess.run(["uv", "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip(),
    )
    return env


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run a script in its own process group, so a timeout also stops the worker it started."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{' '.join(command)} ran over {timeout} s:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    assert process.returncode == 0, (
        f"{' '.join(command)} exited {process.returncode}:\n{stdout[-3000:]}\n{stderr[-3000:]}"
    )
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.timeout(2400)
@pytest.mark.skipif(shutil.which("uv") is None or shutil.which("git") is None, reason="needs uv and git")
def test_the_readme_commands_work_on_a_fresh_checkout(tmp_path):
    clone = fresh_checkout(tmp_path / "clone")
    assert not (clone / ".venv").exists() and not (clone / "tiny-models").exists()
    env = newcomer_env(tmp_path)

    demo = run(["bash", "scripts/demo.sh"], clone, env, timeout=1500)
    assert "demo: tts ok" in demo.stdout and "demo: download ok" in demo.stdout, demo.stdout
    assert " --> " in demo.stdout.split("demo: download ok", 1)[1]  # the SRT it printed
    venv = clone / ".venv"
    assert (venv / "pyvenv.cfg").is_file() and not venv.is_symlink()  # its own venv, not the suite's

    selected = "tests/test_schemas.py::test_strict_types_refuse_coercion"
    tests = run(["bash", "scripts/test.sh", "-q", "-p", "no:cacheprovider", selected], clone, env, timeout=600)
    assert "1 passed" in tests.stdout, tests.stdout
    assert (venv / "bin" / "pytest").is_file()  # test.sh's setup added the test tools to the new venv
