#!/usr/bin/env python
"""Cold start against warm start of scripts/startup-runpod.sh, and the installer's skip path
against a plain ``pip install -r``, side by side in one run.

The installed set is a real slice of requirements.txt (boto3, pydantic, requests, soundfile,
numpy, pysubs2, filelock and what they need, at the lock's pins) fetched from the package index,
so downloads, unpacking and the skip check are real; the full 8 GB stack would take too long here.
Each start runs one ``health`` job through the SDK's local mode (--test_input) and exits.

    .venv/bin/python bench/cold_start.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SLICE = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3", "pydantic",
         "pydantic-core", "annotated-types", "typing-extensions", "typing-inspection", "requests", "certifi",
         "charset-normalizer", "idna", "soundfile", "cffi", "pycparser", "numpy", "pysubs2", "filelock")  # fmt: skip
HEALTH = json.dumps({"input": {"endpoint": "health"}})


def lock_slice(dest: Path) -> Path:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match and match.group(1).lower() in SLICE:
            pins[match.group(1).lower()] = line.strip()
    dest.write_text("\n".join(pins[name] for name in SLICE if name in pins) + "\n")
    return dest


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        sys.exit(f"{' '.join(command[:3])} failed ({result.returncode}):\n{tail}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    reqs = lock_slice(work / "requirements-slice.txt")
    volume = work / "volume"
    volume.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUNPOD_", "F5_", "GOOGLE_"))}
    env.update(RUNPOD_VOLUME_PATH=str(volume), REQUIREMENTS_FILE=str(reqs), PYTHON=sys.executable,
               STORAGE_DIR=str(work / "storage"), TTS_ENABLED="false", TIMING_ENGINES="", HF_HUB_OFFLINE="1",
               INSTALL_MIN_FREE_MB="500")  # fmt: skip
    start = ["bash", str(REPO / "scripts/startup-runpod.sh"), "--test_input", HEALTH]
    cold = timed(start, env, work)
    warm = timed(start, env, work)
    worker_env = {**env, "WORKER_ROOT": str(volume)}
    skip = timed(["bash", str(REPO / "scripts/install-runpod-deps.sh")], worker_env, work)
    plain_target = work / "plain"
    pip = [sys.executable, "-m", "pip"] if shutil.which("pip") is None else ["pip"]
    plain = timed([*pip, "install", "-q", "--no-deps", "--target", str(plain_target), "-r", str(reqs)],
                  {**env, "PIP_CACHE_DIR": str(work / "plain-cache")}, work)  # fmt: skip
    plain_again = timed([*pip, "install", "-q", "--no-deps", "--upgrade", "--target", str(plain_target), "-r",
                         str(reqs)], {**env, "PIP_CACHE_DIR": str(work / "plain-cache")}, work)  # fmt: skip
    packages = len(reqs.read_text().split())
    print(f"{packages} packages from the lock; machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(f"{'measurement':<52}{'seconds':>9}")
    rows = [
        ("start to health job done, cold volume (installs)", cold),
        ("start to health job done, warm volume (skips)", warm),
        ("  cold / warm", cold / warm),
        ("installer alone on a warm volume (skip path)", skip),
        ("plain pip install --target -r (fresh dir)", plain),
        ("plain pip install --upgrade --target -r (again)", plain_again),
        ("  plain again / installer skip", plain_again / skip),
    ]
    for label, value in rows:
        print(f"{label:<52}{value:>9.2f}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
