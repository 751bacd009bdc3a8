"""The image as Dockerfile.runpod builds it, started on a clean Debian root (tests/container/image.py).

Each start is a new container (a fresh overlay over the built image) running the image's CMD with
``--test_input`` (one ``health`` job) against moto's S3 server on 127.0.0.1, with the network volume a
host folder bound at /runpod-volume. The stack installed is a slice of requirements.txt (what the
handler needs for ``health`` with TTS and Whisper off: runpod, boto3, pydantic-settings, numpy, ... at
the lock's pins), fetched from the real package index, so downloads, hashes, uv and the snapshot are
real; bench/cold_start.py measures the full lock.

The first image build takes minutes (debootstrap, apt, pip); later runs reuse the cached roots.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import make_bucket
from tests.container.image import build_image, missing_tools
from tests.helpers import TEST_SECRET_KEY, direct_s3_client, free_port, s3_env
from tests.lock_slice import lock_slice

pytestmark = [
    pytest.mark.skipif(bool(missing_tools()), reason="; ".join(missing_tools()) or "ok"),
    pytest.mark.timeout(2400),  # the first build of the image root
]

HEALTH = json.dumps({"input": {"endpoint": "health"}})
SLICE_INSIDE = "/slice/requirements.txt"


class Start:
    def __init__(self, returncode: int, log: str, seconds: float, upper: Path):
        self.returncode, self.log, self.seconds, self.upper = returncode, log, seconds, upper

    def __repr__(self) -> str:
        return f"exit {self.returncode} after {self.seconds:.1f}s; log:\n{self.log[-8000:]}"

    def ok(self) -> bool:
        return self.returncode == 0 and "Job local_test completed successfully" in self.log


class Worker:
    """Starts containers of the built image against one moto server."""

    def __init__(self, image, endpoint: str, lock: Path, tmp: Path):
        self.image, self.endpoint, self.lock, self.tmp = image, endpoint, lock, tmp
        self.starts = 0

    def env(self, bucket: str, **extra: str) -> dict[str, str]:
        env = {
            **s3_env(self.endpoint, bucket),
            "REQUIREMENTS_FILE": SLICE_INSIDE,
            "TTS_ENABLED": "false",
            "TIMING_ENGINES": "google",
            "HF_HUB_OFFLINE": "1",
            "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
            "RUNPOD_SKIP_GPU_CHECK": "true",
            "INSTALL_MIN_FREE_MB": "500",
            "INSTALL_BACKOFF_S": "0.5",
            "S3_MAX_ATTEMPTS": "2",
            "STACK_LOCK_STALE_S": "3",  # a killed upload's lock is taken over after 3 s, not 2 min
        }
        env.update(extra)
        return env

    def start(self, volume: Path, bucket: str, kill_at: str | None = None, **extra: str) -> Start:
        """One container start; with ``kill_at``, SIGKILL everything when that log text appears."""
        volume.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.image.container_disk() as overlay:
            process = self.image.start(
                volume,
                self.env(bucket, **extra),
                ["--test_input", HEALTH],
                overlay,
                {SLICE_INSIDE: self.lock},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            seen = []
            try:
                for line in process.stdout:
                    seen.append(line)
                    if kill_at and kill_at in line:
                        os.killpg(process.pid, signal.SIGKILL)
                        break
                process.wait(timeout=900)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            pycache = sorted(str(p.relative_to(overlay[0])) for p in (overlay[0] / "app").rglob("__pycache__"))
            log = "".join(seen) + (f"\n[test] __pycache__ written into the app folder: {pycache}\n" if pycache else "")
            self.starts += 1
            (self.tmp / f"start-{self.starts:02d}-{volume.name}.log").write_text(log)  # the whole log, kept
            return Start(process.returncode, log, time.monotonic() - started, overlay[0])


def client(endpoint: str):
    return direct_s3_client(endpoint)


def keys(endpoint: str, bucket: str) -> list[str]:
    listing = client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def copy_bucket(endpoint: str, source: str, prefixes: tuple[str, ...] = ("wheels/", "stacks/")) -> str:
    """A new bucket holding ``source``'s objects under ``prefixes`` (a warm bucket for one case)."""
    bucket = make_bucket(endpoint)
    s3 = client(endpoint)
    for key in keys(endpoint, source):
        if key.startswith(prefixes):
            s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": source, "Key": key})
    return bucket


def closed_index() -> str:
    return f"http://127.0.0.1:{free_port()}/simple"


@pytest.fixture(scope="module")
def worker(moto_endpoint, tmp_path_factory) -> Worker:
    image = build_image()
    print(f"image root {image.root} ready in {image.seconds:.1f}s")
    tmp = tmp_path_factory.mktemp("container")
    return Worker(image, moto_endpoint, lock_slice(tmp / "requirements-slice.txt"), tmp)


@pytest.fixture(scope="module")
def first(worker, moto_endpoint):
    """The first start ever: empty volume, empty bucket, everything from the package index."""
    bucket = make_bucket(moto_endpoint)
    volume = worker.tmp / "volume-first"
    run = worker.start(volume, bucket)
    return run, volume, bucket


def test_first_start_on_an_empty_bucket_installs_uploads_and_serves(first, moto_endpoint):
    run, volume, bucket = first
    assert run.ok(), run
    for step in ("storage setup", "install", "model cache"):
        assert re.search(rf"startup-runpod: {step}: done in \d+\.\d{{3}}s", run.log), step
    assert "wheelhouse: " in run.log and "fetching them from the package index" in run.log
    assert "upload snapshot: done" in run.log
    assert "'status': 'ok'" in run.log
    stored = keys(moto_endpoint, bucket)
    assert any(key.startswith("wheels/") and key.endswith(".whl") for key in stored)
    assert any(key.startswith("wheels/") and key.endswith(".whl.sha256") for key in stored)
    assert any(re.fullmatch(r"stacks/\w+/manifest\.json", key) for key in stored), stored
    assert not any(key.endswith("/.lock") for key in stored)
    assert (volume / "stack").is_symlink() and (volume / "stack" / ".stack-complete").is_file()
    assert "__pycache__ written into the app folder" not in run.log
    assert TEST_SECRET_KEY not in run.log
    print(f"first start: {run.seconds:.1f}s")


def test_second_start_skips_the_install(first, worker):
    _run, volume, bucket = first
    run = worker.start(volume, bucket, PIP_INDEX_URL=closed_index())
    assert run.ok(), run
    took = re.search(r"nothing to do: the stack for this lock is complete \((\d+\.\d+)s\)", run.log)
    assert took, run
    assert float(took.group(1)) < 1.0, run  # about 0.05 s on an idle machine; CI shares its cores
    assert "s3sync" not in run.log and "snapshot" not in run.log
    print(f"second start: {run.seconds:.1f}s, installer {took.group(1)}s")


def test_fresh_volume_restores_the_snapshot_without_the_index(first, worker):
    _run, _volume, bucket = first
    run = worker.start(worker.tmp / "volume-fresh", bucket, PIP_INDEX_URL=closed_index())
    assert run.ok(), run
    assert "restore snapshot: done" in run.log
    assert "download wheels" not in run.log and "wheelhouse" not in run.log
    print(f"fresh volume from the snapshot: {run.seconds:.1f}s")


def test_corrupt_snapshot_falls_back_to_the_wheels_without_the_index(first, worker, moto_endpoint):
    _run, _volume, bucket = first
    copy = copy_bucket(moto_endpoint, bucket)
    archive = next(key for key in keys(moto_endpoint, copy) if key.endswith("stack.tar.zst"))
    client(moto_endpoint).put_object(Bucket=copy, Key=archive, Body=b"not the archive")
    run = worker.start(worker.tmp / "volume-corrupt", copy, PIP_INDEX_URL=closed_index())
    assert run.ok(), run
    assert "does not match its manifest" in run.log
    assert re.search(r"wheelhouse: covers all \d+ package\(s\); the index is not needed", run.log), run
    assert "download wheels" not in run.log
    print(f"fresh volume from the wheelhouse: {run.seconds:.1f}s")


# Each chain starts on a fresh volume; every start but the last is SIGKILLed (the script, pip, uv, python:
# the whole process group) when its log reaches the next phase, and the last one must start the worker.
# Chaining keeps the test short: each restart resumes where the killed start stopped.
CHAINS = {
    "empty bucket": (
        "storage setup: start",
        "download wheels: attempt 1",
        "install-runpod-deps: install: start",
        "upload snapshot: start",
    ),
    "warm bucket": ("restore snapshot: start", "model cache: start", "starting the handler"),
}


def assert_no_leftovers(volume: Path) -> None:
    assert not list((volume / "stacks").glob(".tmp-*")), sorted(os.listdir(volume / "stacks"))
    assert not (volume / "tmp" / "install").exists(), sorted(os.listdir(volume / "tmp" / "install"))


@pytest.mark.parametrize("chain", list(CHAINS))
def test_sigkill_in_each_phase_then_a_clean_restart(chain, first, worker, moto_endpoint):
    _run, _volume, warm = first
    bucket = make_bucket(moto_endpoint) if chain == "empty bucket" else copy_bucket(moto_endpoint, warm)
    volume = worker.tmp / f"volume-kill-{chain.replace(' ', '-')}"
    for marker in CHAINS[chain]:
        killed = worker.start(volume, bucket, kill_at=marker)
        assert killed.returncode == -signal.SIGKILL, killed
        assert marker in killed.log.splitlines()[-1], killed  # killed in that phase, not after it
        print(f"{chain}: killed at {marker!r} after {killed.seconds:.1f}s")
    again = worker.start(volume, bucket)
    assert again.ok(), again
    assert_no_leftovers(volume)
    stored = keys(moto_endpoint, bucket)
    if chain == "empty bucket":  # the upload was killed: the restart uploads it in the background while serving
        assert "checking it in the background" in again.log and "upload snapshot: done" in again.log, again
        assert any(key.endswith("manifest.json") for key in stored) and not any(k.endswith("/.lock") for k in stored)
    print(f"{chain}: clean restart {again.seconds:.1f}s")
