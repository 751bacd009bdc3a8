#!/usr/bin/env python
"""The start installer's routes to a stack on an empty volume, side by side with plain uv and pip, in one run.

Against moto's S3 server on 127.0.0.1 (the bucket) and the real package index:

  first start      empty volume, empty bucket: wheels from the index, uploaded with the stack snapshot
  snapshot route   empty volume, warm bucket: the stack's zstd snapshot (parallel ranged GETs, sha256, unpack)
  wheelhouse route empty volume, warm bucket, STACK_SNAPSHOT=0: hash-checked wheels + `uv pip sync --no-index`
  plain uv         `uv venv` + `uv pip install -r LOCK` from the index, empty uv cache
  plain pip        `python -m venv` + `pip install -r LOCK` from the index, empty pip cache
  skip path        the installer on the warm volume (one short Python process)
  no-op uv / pip   `uv pip install -r LOCK` / `pip install -r LOCK` into an environment that already has it

By default the lock is a slice of requirements.txt (the handler's own needs without torch: about 110
packages); ``--full`` takes the whole lock (about 4.5 GB of wheels, 8 GB installed: it takes a long
time and needs that much disk twice over).

    .venv/bin/python bench/cold_start.py [--full]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
KEY, SECRET = "bench-access-key", "bench-secret-key"


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if os.environ.get("BENCH_LOGS"):  # each command's output, for reading what a long run did
        logs = Path(os.environ["BENCH_LOGS"])
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"{time.strftime('%H%M%S')}-{Path(command[1]).name}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}")
    return elapsed


def drop(*folders: Path) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def ranged_gets_read_only_their_range() -> None:
    """Make the in-process moto server answer a ranged GET from its range alone.

    moto reads the whole object for every ranged GET and then slices it: harmless in tests, but the full
    lock's snapshot (gigabytes, fetched in 32 MB ranges by 16 threads) would cost gigabytes of memory and
    a whole-object read per range, which measures moto, not the route. Objects moto has spooled to disk
    are read with ``os.pread`` of the range instead; small ones stay as moto serves them.
    """
    import threading

    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    class Window:
        def __init__(self, key: FakeKey):
            self.key = key

        def __len__(self) -> int:
            return self.key.size

        def __getitem__(self, part: slice) -> bytes:
            return os.pread(self.key._value_buffer.fileno(), part.stop - part.start, part.start)

    ranged = threading.local()
    whole_get, whole_value = S3Response.get_object, FakeKey.value

    def get_object(self):
        ranged.on = bool(self.headers.get("range"))
        try:
            return whole_get(self)
        finally:
            ranged.on = False

    def value(key: FakeKey):
        on_disk = getattr(key._value_buffer, "_rolled", False)
        return Window(key) if on_disk and getattr(ranged, "on", False) else whole_value.fget(key)

    S3Response.get_object = get_object
    FakeKey.value = property(value, whole_value.fset)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the whole requirements.txt instead of a slice")
    parser.add_argument("--smoke", action="store_true", help="a one-package lock (idna): seconds, for the suite")
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    from tests.helpers import free_port
    from tests.lock_slice import SLICE_ROOTS, lock_slice

    ranged_gets_read_only_their_range()

    work = Path(tempfile.mkdtemp(prefix="bench-cold-", dir=os.environ.get("BENCH_DIR")))
    roots = ("idna",) if args.smoke else SLICE_ROOTS
    lock = REPO / "requirements.txt" if args.full else lock_slice(work / "requirements-slice.txt", roots=roots)
    packages = sum(1 for line in lock.read_text().splitlines() if "==" in line and not line.startswith("#"))
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET
    ).create_bucket(Bucket="bench")
    keep = ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE")
    base = {name: os.environ[name] for name in keep if name in os.environ}
    base.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PYTHONDONTWRITEBYTECODE="1")
    s3 = {
        "AWS_S3_BUCKET": "bench",
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-west-004",
        # moto assembles a multipart object in memory: completing the full lock's snapshot (gigabytes) takes
        # longer than the worker's 30 s read timeout, and the client's retries then fail against moto
        "S3_READ_TIMEOUT_S": "900",
    }
    installer = ["bash", str(REPO / "scripts" / "install-runpod-deps.sh")]

    def volume(name: str, **extra: str) -> dict[str, str]:
        root = work / name
        root.mkdir()
        return {
            **base,
            **s3,
            "WORKER_ROOT": str(root),
            "PYTHON": sys.executable,
            "REQUIREMENTS_FILE": str(lock),
            "INSTALL_MIN_FREE_MB": "1000",
            **extra,
        }

    class Progress(dict):
        """Rows that also go to stderr as they are measured (a long run keeps what it got)."""

        def __setitem__(self, label: str, value: float) -> None:
            super().__setitem__(label, value)
            print(f"  {label}: {value:.2f}s", file=sys.stderr, flush=True)

    rows = Progress()
    try:
        # each route's volume goes once measured: the full lock installs to about 8 GB per route
        warm = volume("warm")
        rows["first start (empty volume, empty bucket)"] = timed(installer, warm)
        rows["skip path: the installer on a warm volume"] = min(timed(installer, warm) for _ in range(5))
        drop(work / "warm")
        rows["snapshot route (empty volume, warm bucket)"] = timed(installer, volume("snap"))
        drop(work / "snap")
        # plain pip next: the target's denominator, measured early in case a long run is cut short
        uv_env = {**base, "UV_CACHE_DIR": str(work / "uv-cache"), "TMPDIR": str(work)}
        pip_env = {**base, "PIP_CACHE_DIR": str(work / "pip-cache"), "TMPDIR": str(work)}
        started = time.perf_counter()
        timed(["uv", "venv", "-q", "--seed", "--python", sys.executable, str(work / "plain-pip")], uv_env)
        pip = [str(work / "plain-pip/bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        timed([*pip, "-r", str(lock)], pip_env)
        rows["plain pip install -r (index, empty cache)"] = time.perf_counter() - started
        rows["no-op pip install -r (all installed)"] = min(timed([*pip, "-r", str(lock)], pip_env) for _ in range(3))
        drop(work / "plain-pip", work / "pip-cache")
        rows["wheelhouse route (empty volume, warm bucket)"] = timed(installer, volume("wheels", STACK_SNAPSHOT="0"))
        drop(work / "wheels")
        uv_install = ["uv", "pip", "install", "-q", "--python", str(work / "plain-uv/bin/python"), "-r", str(lock)]
        started = time.perf_counter()
        timed(["uv", "venv", "-q", "--python", sys.executable, str(work / "plain-uv")], uv_env)
        timed(uv_install, uv_env)
        rows["plain uv pip install -r (index, empty cache)"] = time.perf_counter() - started
        rows["no-op uv pip install -r (all installed)"] = min(timed(uv_install, uv_env) for _ in range(3))
        drop(work / "plain-uv", work / "uv-cache")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"{packages} packages ({'full lock' if args.full else 'slice of the lock'}); {os.cpu_count()} cores; "
        f"python {sys.version.split()[0]}; bucket: moto on 127.0.0.1"
    )
    print(f"{'measurement':<50}{'seconds':>9}")
    for label, value in rows.items():
        print(f"{label:<50}{value:>9.2f}")
    pip_s = rows["plain pip install -r (index, empty cache)"]
    ratios = {
        "snapshot route / plain pip": rows["snapshot route (empty volume, warm bucket)"] / pip_s,
        "wheelhouse route / plain pip": rows["wheelhouse route (empty volume, warm bucket)"] / pip_s,
        "plain uv / plain pip": rows["plain uv pip install -r (index, empty cache)"] / pip_s,
        "skip path / no-op uv pip install": rows["skip path: the installer on a warm volume"]
        / rows["no-op uv pip install -r (all installed)"],
        "skip path / no-op pip install": rows["skip path: the installer on a warm volume"]
        / rows["no-op pip install -r (all installed)"],
    }
    for label, value in ratios.items():
        print(f"  {label:<48}{value:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
