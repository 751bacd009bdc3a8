"""scripts/setup-backblaze-storage.sh, run for real: storage variables, the persistent root, the env file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, TEST_SECRET_KEY

SCRIPT = REPO / "scripts" / "setup-backblaze-storage.sh"
S3_VARIABLES = ("AWS_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
FOLDERS = ("stacks", "wheels", "models", "tmp", "pip-cache", "uv-cache", "hf-home", "voices")
EXPORTED = (
    "WORKER_ROOT",
    "TMPDIR",
    "PIP_CACHE_DIR",
    "UV_CACHE_DIR",
    "PYTHONPYCACHEPREFIX",
    "HF_HOME",
    "TORCH_HOME",
    "XDG_CACHE_HOME",
    "MODEL_CACHE_DIR",
    "NLTK_DATA",
    "VOICE_CACHE_DIR",
    "STORAGE_DIR",
    "PYTHONPATH",
)


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Only what the script needs: no AWS_*, HF_*, PYTHONPATH... leaking in from the test runner."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "RUNPOD_VOLUME_PATH": str(tmp_path / "no-volume"),
        "CACHE_ROOT": str(tmp_path / "cache-root"),
    }
    env.update(extra)
    return env


def complete_s3(**extra: str) -> dict[str, str]:
    return {
        "AWS_S3_BUCKET": "my-bucket",
        "AWS_ACCESS_KEY_ID": "004a1b2c3d0001",
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
        **extra,
    }


def run_setup(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def sourced(env_file: Path, env: dict[str, str]) -> dict[str, str]:
    """The variables a shell has after sourcing the env file (what startup-runpod.sh does)."""
    names = " ".join(EXPORTED)
    script = f'source "$1"; for n in {names}; do printf "%s=%s\\n" "$n" "${{!n}}"; done'
    out = subprocess.run(
        ["bash", "-c", script, "_", str(env_file)], env=env, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_help_describes_the_script():
    result = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "RUNPOD_VOLUME_PATH" in result.stdout and "CACHE_ROOT" in result.stdout


def test_complete_variables_are_accepted_and_the_secret_never_printed(tmp_path):
    env = base_env(tmp_path, **complete_s3(AWS_ENDPOINT_URL="https://s3.us-west-004.backblazeb2.com"))
    result = run_setup(env)
    assert result.returncode == 0, result.stderr
    assert "bucket my-bucket" in result.stderr
    assert "https://s3.us-west-004.backblazeb2.com" in result.stderr
    env_file = Path(result.stdout.strip())
    for text in (result.stdout, result.stderr, env_file.read_text()):
        assert TEST_SECRET_KEY not in text
        assert "004a1b2c3d0001" not in text  # the key id is not echoed either
    assert "export S3_CONFIGURED=1" in env_file.read_text()


@pytest.mark.parametrize(
    "unset",
    [("AWS_SECRET_ACCESS_KEY",), ("AWS_ACCESS_KEY_ID",), ("AWS_S3_BUCKET",), ("AWS_S3_BUCKET", "AWS_ACCESS_KEY_ID")],
)
def test_partial_variables_fail_naming_the_missing_ones(tmp_path, unset):
    variables = {name: value for name, value in complete_s3().items() if name not in unset}
    result = run_setup(base_env(tmp_path, **variables))
    assert result.returncode == 2
    assert result.stdout == ""  # no env file path: nothing to source
    assert "half-configured" in result.stderr
    assert f"(missing: {', '.join(unset)})" in result.stderr
    assert TEST_SECRET_KEY not in result.stderr
    assert not (tmp_path / "cache-root" / "worker.env").exists()


def test_no_variables_means_local_storage(tmp_path):
    result = run_setup(base_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "not configured" in result.stderr
    assert "export S3_CONFIGURED=0" in Path(result.stdout.strip()).read_text()


def test_empty_values_count_as_unset(tmp_path):
    result = run_setup(base_env(tmp_path, AWS_S3_BUCKET="", AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY=""))
    assert result.returncode == 0, result.stderr
    result = run_setup(base_env(tmp_path, **complete_s3(AWS_SECRET_ACCESS_KEY="")))
    assert result.returncode == 2 and "(missing: AWS_SECRET_ACCESS_KEY)" in result.stderr


def test_endpoint_must_be_a_url(tmp_path):
    result = run_setup(base_env(tmp_path, **complete_s3(AWS_ENDPOINT_URL="s3.us-west-004.backblazeb2.com")))
    assert result.returncode == 2
    assert "AWS_ENDPOINT_URL" in result.stderr


def test_volume_is_the_root_when_it_is_a_directory(tmp_path):
    volume = tmp_path / "runpod-volume"
    volume.mkdir()
    result = run_setup(base_env(tmp_path, RUNPOD_VOLUME_PATH=str(volume)))
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == volume / "worker.env"
    for folder in FOLDERS:
        assert (volume / folder).is_dir(), folder
    assert not (tmp_path / "cache-root").exists()
    assert "network volume" in result.stderr


def test_cache_root_without_a_volume(tmp_path):
    result = run_setup(base_env(tmp_path))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "cache-root"
    assert Path(result.stdout.strip()) == root / "worker.env"
    for folder in FOLDERS:
        assert (root / folder).is_dir(), folder
    assert "CACHE_ROOT" in result.stderr


def test_env_file_moves_every_cache_and_install_path_to_the_root(tmp_path):
    volume = tmp_path / "vol"
    volume.mkdir()
    env = base_env(tmp_path, RUNPOD_VOLUME_PATH=str(volume), PYTHONPATH="/app/extra")
    result = run_setup(env)
    assert result.returncode == 0, result.stderr
    values = sourced(Path(result.stdout.strip()), base_env(tmp_path))
    assert values["WORKER_ROOT"] == str(volume)
    assert values["TMPDIR"] == f"{volume}/tmp"  # where pip unpacks and builds
    assert values["PIP_CACHE_DIR"] == f"{volume}/pip-cache"
    assert values["UV_CACHE_DIR"] == f"{volume}/uv-cache"
    assert values["PYTHONPYCACHEPREFIX"] == f"{volume}/cache/pycache"  # never __pycache__ in the image's /app
    assert values["VOICE_CACHE_DIR"] == f"{volume}/voices"
    assert values["STORAGE_DIR"] == f"{volume}/storage"
    assert values["HF_HOME"] == f"{volume}/hf-home"
    assert values["XDG_CACHE_HOME"] == f"{volume}/cache"
    assert values["TORCH_HOME"] == f"{volume}/cache/torch"
    assert values["MODEL_CACHE_DIR"] == f"{volume}/models"
    assert values["NLTK_DATA"] == f"{volume}/models/nltk_data"
    assert values["PYTHONPATH"] == ""  # the env file leaves it alone: the stack is a venv of its own
    assert "PYTHONPATH" not in Path(result.stdout.strip()).read_text()


def test_chosen_locations_are_kept_and_pythonpath_is_untouched(tmp_path):
    """With SKIP_INSTALL=1 (a baked image) nothing a slim image left on the volume may reach the imports."""
    volume = tmp_path / "vol"
    volume.mkdir()
    env = base_env(
        tmp_path,
        RUNPOD_VOLUME_PATH=str(volume),
        MODEL_CACHE_DIR="/models",
        HF_HOME="/hf",
        VOICE_CACHE_DIR="/voices",
        STORAGE_DIR="/data",
        SKIP_INSTALL="1",
        PYTHONPATH="/app/extra",
        WORKER_ENV_FILE=str(tmp_path / "etc" / "w.env"),
    )
    result = run_setup(env)
    assert result.returncode == 0, result.stderr
    env_file = Path(result.stdout.strip())
    assert env_file == tmp_path / "etc" / "w.env"
    values = sourced(env_file, base_env(tmp_path))
    assert values["MODEL_CACHE_DIR"] == "/models" and values["HF_HOME"] == "/hf"
    assert values["VOICE_CACHE_DIR"] == "/voices" and values["STORAGE_DIR"] == "/data"
    assert values["TMPDIR"] == f"{volume}/tmp"  # install paths always go to the root
    assert values["PYTHONPATH"] == ""  # sourced in a shell without one: the file sets none


def test_a_second_run_is_harmless(tmp_path):
    env = base_env(tmp_path)
    first, second = run_setup(env), run_setup(env)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert not list((tmp_path / "cache-root").glob("worker.env.*"))  # no temp files left behind
