"""Model cache in the bucket: restore models to local disk before the handler warm-loads them.

Cold workers read weights from ``models/`` in storage (Backblaze B2) instead of the internet. For each
model (:func:`f5worker.model_sources.configured_specs`): when its manifest exists in the bucket, its
files are restored into ``MODEL_CACHE_DIR/<name>/`` (in parallel, to temp names, renamed into place) and
checked against the manifest's sizes and sha256, re-downloading a mismatch. When it does not, one worker
(holding the model's bucket lock, :mod:`f5worker.storage.bucket_lock`) fetches the model from its public
source, uploads the files and then the manifest; the others wait for the manifest and restore, or take
the lock over when its holder stops renewing it. ``model_cache_init.py`` runs this at start-up.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import NotFound, WorkerError
from .files import atomic_write, sha256_file
from .model_sources import ModelCacheError, ModelSpec, configured_specs
from .settings import Settings
from .storage import Storage, open_storage
from .storage.bucket_lock import Heartbeat, take_lock
from .storage.layout import model_file_key, model_lock_key, model_manifest_key

log = logging.getLogger(__name__)
PARALLEL_FILES = 4
LOCK_STALE_S = 600.0  # renewed every quarter of this while the holder uploads: older means its worker died
WAIT_FOR_OTHER_S = 1800.0
POLL_S = 2.0


@dataclass
class ModelReport:
    name: str
    action: str  # verified | restored | uploaded | failed
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    error: str | None = None

    def line(self) -> str:
        detail = f"{self.files} file(s), {self.bytes / 1e6:.1f} MB, {self.seconds:.1f} s"
        return f"model {self.name}: {self.action} ({self.error or detail})"


def build_manifest(folder: Path) -> dict:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))
    return {
        "files": {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in files}
    }


def _marker(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def is_intact(path: Path, expected: dict) -> bool:
    """Size first; the sha256 only when the file changed since it was last verified (warm starts stay fast)."""
    if not path.is_file() or path.stat().st_size != expected["size"]:
        return False
    stat = path.stat()
    stamp = f"{stat.st_size} {stat.st_mtime_ns} {expected['sha256']}"
    marker = _marker(path)
    if marker.is_file() and marker.read_text() == stamp:
        return True
    if sha256_file(path) != expected["sha256"]:
        return False
    atomic_write(marker, stamp.encode())
    return True


def restore_file(storage: Storage, key: str, dest: Path, expected: dict) -> int:
    """Download (to a temp name, then rename) until the file matches the manifest; 0 when it already did."""
    if is_intact(dest, expected):
        return 0
    for _attempt in range(2):
        storage.download_file(key, dest)
        if is_intact(dest, expected):
            return expected["size"]
        log.warning("%s does not match its manifest; downloading again", key)
    dest.unlink(missing_ok=True)
    raise ModelCacheError(f"{key} does not match its manifest after two downloads")


def restore(storage: Storage, name: str, manifest: dict, cache_dir: Path) -> tuple[int, int]:
    """Restore every manifest file in parallel; returns (files fetched, bytes fetched)."""
    jobs = [(model_file_key(name, rel), cache_dir / name / rel, meta) for rel, meta in manifest["files"].items()]
    with ThreadPoolExecutor(max_workers=PARALLEL_FILES) as pool:
        fetched = list(pool.map(lambda job: restore_file(storage, *job), jobs))
    return sum(1 for size in fetched if size), sum(fetched)


def read_manifest(storage: Storage, name: str) -> dict | None:
    try:
        return json.loads(storage.get_bytes(model_manifest_key(name)))
    except NotFound:
        return None


def upload(storage: Storage, spec: ModelSpec, cache_dir: Path) -> tuple[int, int]:
    """Fetch from the public source into a temp folder, upload the files, then the manifest (last)."""
    staging = Path(tempfile.mkdtemp(prefix="model-fetch-", dir=cache_dir))
    try:
        spec.fetch(staging)
        manifest = build_manifest(staging)
        if not manifest["files"]:
            raise ModelCacheError("the public source gave no files")
        with ThreadPoolExecutor(max_workers=PARALLEL_FILES) as pool:
            list(
                pool.map(lambda rel: storage.put_file(model_file_key(spec.name, rel), staging / rel), manifest["files"])
            )
        body = json.dumps(manifest, indent=1).encode()
        storage.put_bytes(model_manifest_key(spec.name), body, "application/json")
        for rel, meta in manifest["files"].items():  # the local copy is the uploaded one
            dest = cache_dir / spec.name / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staging / rel, dest)
            is_intact(dest, meta)
        return len(manifest["files"]), sum(meta["size"] for meta in manifest["files"].values())
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def upload_once(storage: Storage, spec: ModelSpec, cache_dir: Path, wait_s: float) -> dict | tuple[int, int]:
    """The bucket's manifest, or (files, bytes) when this worker took the lock and uploaded the model.

    Waits up to ``wait_s`` for another worker's upload, taking its lock over when it stops renewing it.
    """
    lock = model_lock_key(spec.name)
    deadline = time.monotonic() + wait_s
    while (manifest := read_manifest(storage, spec.name)) is None:
        token = take_lock(storage, lock, LOCK_STALE_S)
        if token is not None:
            try:
                with Heartbeat(storage, lock, token, LOCK_STALE_S):
                    return upload(storage, spec, cache_dir)
            finally:
                storage.delete(lock)
        if time.monotonic() >= deadline:
            raise ModelCacheError(f"another worker held the upload lock for more than {wait_s:.0f} s")
        time.sleep(POLL_S)
    return manifest


def ensure_model(storage: Storage, spec: ModelSpec, cache_dir: Path, wait_s: float = WAIT_FOR_OTHER_S) -> ModelReport:
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    report = ModelReport(spec.name, "verified")
    try:
        found = upload_once(storage, spec, cache_dir, wait_s)
        if isinstance(found, tuple):
            report.action, (report.files, report.bytes) = "uploaded", found
        else:
            report.files, report.bytes = restore(storage, spec.name, found, cache_dir)
            report.action = "restored" if report.files else "verified"
    except (ModelCacheError, WorkerError, OSError, ValueError) as exc:
        report.action, report.error = "failed", describe_failure(exc)
        log.error("model %s failed: %s", spec.name, report.error)
    report.seconds = time.monotonic() - started
    return report


def describe_failure(exc: BaseException) -> str:
    """The exception and its causes: huggingface_hub wraps the HTTP error that says what went wrong."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = " ".join(str(exc).split())
        parts.append(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return "; caused by ".join(parts)


def prepare_models(settings: Settings, extra: list[ModelSpec] = (), configured: bool = True) -> list[ModelReport]:
    """Make every configured model (and ``extra``) available under MODEL_CACHE_DIR (the handler can call this too)."""
    if settings.storage_backend != "s3":
        log.info("local storage: the model cache needs S3 (AWS_S3_BUCKET ...); nothing to do")
        return []
    specs = [*(configured_specs(settings) if configured else []), *extra]
    storage = open_storage(settings)
    return [ensure_model(storage, spec, settings.model_cache_dir) for spec in specs]
