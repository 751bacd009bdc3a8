#!/usr/bin/env python
"""Model cache in the bucket: restore models to local disk before the handler warm-loads them.

Cold workers read weights from ``models/`` in storage (Backblaze B2) instead of the internet. For
each configured model: when ``models/<name>/manifest.json`` exists, its files are restored into
``MODEL_CACHE_DIR/<name>/`` (in parallel, to temp names, renamed into place) and checked against
the manifest's sizes and sha256, re-downloading a mismatch. When it does not, one worker (holding
``models/<name>/.lock``) fetches the model from its public source, uploads the files and then the
manifest; the others wait for the manifest and restore. Run as a script (one summary line per
model, exit 1 when any failed) or call :func:`prepare_models` from Python.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from f5worker.errors import ConfigError, NotFound, StorageError, WorkerError
from f5worker.files import atomic_write, sha256_file
from f5worker.settings import Settings, load_settings
from f5worker.storage import Storage, open_storage

log = logging.getLogger("model_cache_init")
PARALLEL_FILES = 4
LOCK_STALE_S = 3600.0  # a lock older than this belongs to a worker that died mid-upload
LOCK_SETTLE_S = 1.0  # wait before reading the lock back (for stores that ignore If-None-Match)
WAIT_FOR_OTHER_S = 1800.0


class ModelCacheError(Exception):
    pass


@dataclass(frozen=True)
class ModelSpec:
    name: str  # folder under models/ and under MODEL_CACHE_DIR, e.g. "f5-tts/F5TTS_v1_Base"
    fetch: Callable[[Path], None]  # fills an empty folder with the model's files from its public source


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
    prefix = f"models/{name}/"
    jobs = [(prefix + rel, cache_dir / name / rel, meta) for rel, meta in manifest["files"].items()]
    with ThreadPoolExecutor(max_workers=PARALLEL_FILES) as pool:
        fetched = list(pool.map(lambda job: restore_file(storage, *job), jobs))
    return sum(1 for size in fetched if size), sum(fetched)


def read_manifest(storage: Storage, name: str) -> dict | None:
    try:
        return json.loads(storage.get_bytes(f"models/{name}/manifest.json"))
    except NotFound:
        return None


def acquire_lock(storage: Storage, name: str, token: str) -> bool:
    """Claim the right to upload ``name``: conditional create, then read back after a pause."""
    key = f"models/{name}/.lock"
    try:
        holder = json.loads(storage.get_bytes(key))
        if time.time() - holder.get("at", 0) < LOCK_STALE_S:
            return False
        log.warning("model %s: taking over a stale upload lock", name)
        storage.delete(key)
    except (NotFound, ValueError):
        pass
    body = json.dumps({"token": token, "at": time.time()}).encode()
    if not storage.create_exclusive(key, body):
        return False
    time.sleep(LOCK_SETTLE_S)
    try:
        return json.loads(storage.get_bytes(key)).get("token") == token
    except (NotFound, ValueError):
        return False


def upload(storage: Storage, spec: ModelSpec, cache_dir: Path) -> tuple[int, int]:
    """Fetch from the public source into a temp folder, upload the files, then the manifest (last)."""
    staging = Path(tempfile.mkdtemp(prefix="model-fetch-", dir=cache_dir))
    try:
        spec.fetch(staging)
        manifest = build_manifest(staging)
        if not manifest["files"]:
            raise ModelCacheError("the public source gave no files")
        prefix = f"models/{spec.name}/"
        with ThreadPoolExecutor(max_workers=PARALLEL_FILES) as pool:
            list(pool.map(lambda rel: storage.put_file(prefix + rel, staging / rel), manifest["files"]))
        storage.put_bytes(prefix + "manifest.json", json.dumps(manifest, indent=1).encode(), "application/json")
        for rel, meta in manifest["files"].items():  # the local copy is the uploaded one
            dest = cache_dir / spec.name / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staging / rel, dest)
            is_intact(dest, meta)
        return len(manifest["files"]), sum(meta["size"] for meta in manifest["files"].values())
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_model(storage: Storage, spec: ModelSpec, cache_dir: Path, wait_s: float = WAIT_FOR_OTHER_S) -> ModelReport:
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    report = ModelReport(spec.name, "verified")
    try:
        manifest = read_manifest(storage, spec.name)
        if manifest is None:
            token = uuid.uuid4().hex
            if acquire_lock(storage, spec.name, token):
                try:
                    report.files, report.bytes = upload(storage, spec, cache_dir)
                    report.action = "uploaded"
                finally:
                    storage.delete(f"models/{spec.name}/.lock")
                report.seconds = time.monotonic() - started
                return report
            manifest = wait_for_manifest(storage, spec.name, wait_s)
        report.files, report.bytes = restore(storage, spec.name, manifest, cache_dir)
        report.action = "restored" if report.files else "verified"
    except (ModelCacheError, WorkerError, OSError, ValueError) as exc:
        report.action, report.error = "failed", describe_failure(exc)
        log.error("model %s failed: %s", spec.name, report.error)
    report.seconds = time.monotonic() - started
    return report


def wait_for_manifest(storage: Storage, name: str, wait_s: float) -> dict:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        manifest = read_manifest(storage, name)
        if manifest is not None:
            return manifest
        time.sleep(2.0)
    raise ModelCacheError(f"another worker held the upload lock for more than {wait_s:.0f} s")


def copy_folder(source: Path) -> Callable[[Path], None]:
    """A local folder as a model's source (``--model NAME=DIR``: publish models you already have)."""

    def fetch(dest: Path) -> None:
        if not source.is_dir():
            raise ModelCacheError(f"{source} is not a directory")
        shutil.copytree(source, dest, dirs_exist_ok=True)

    return fetch


def check_hub_etag(path: Path, label: str) -> None:
    """The hub names each blob in its cache by the file's ETag: a sha256 for LFS files, else a git blob sha1.

    huggingface_hub checks only the size of what it downloads; a wrong body of the right size (or a mirror
    serving other bytes) would otherwise reach the bucket and every later worker.
    """
    blob = path.resolve()
    etag = blob.name
    data_hash = hashlib.sha256() if len(etag) == 64 else hashlib.sha1(b"blob %d\0" % blob.stat().st_size)
    with open(blob, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            data_hash.update(block)
    if len(etag) in (40, 64) and data_hash.hexdigest() != etag:
        raise ModelCacheError(f"{label}: the downloaded bytes do not match the hub's ETag {etag}")


def resuming_once(download: Callable[[], str]) -> str:
    """Call a hub download again once after a body cut short or a dropped connection.

    huggingface_hub 0.36 resumes by itself (a ranged GET) only after a connection error or read timeout
    while streaming, not after a body shorter than its Content-Length, which it raises at once.
    """
    import requests

    try:
        return download()
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
        log.warning("hub download interrupted (%s); resuming once", type(exc).__name__)
        return download()


def hub_files(repo: str, filenames: list[str]) -> Callable[[Path], None]:
    """Named files of one hub repository (``HF_ENDPOINT``, ``HF_TOKEN`` honoured), checked against their ETags.

    Downloads go to a private hub cache inside the staging folder, so a failed or wrong download never
    lands in a shared cache where a later start would find it.
    """

    def fetch(dest: Path) -> None:
        from huggingface_hub import constants, hf_hub_download

        with tempfile.TemporaryDirectory(prefix=".hub-", dir=dest) as hub_cache:
            for filename in filenames:
                try:
                    path = Path(resuming_once(lambda name=filename: hf_hub_download(repo, name, cache_dir=hub_cache)))
                except (OSError, ValueError) as exc:  # huggingface_hub's errors are OSErrors (requests')
                    raise ModelCacheError(f"fetching {repo}/{filename} from {constants.ENDPOINT}") from exc
                check_hub_etag(path, f"{repo}/{filename}")
                shutil.move(path.resolve(), dest / Path(filename).name)

    return fetch


def whisper_files(name: str) -> Callable[[Path], None]:
    """faster-whisper's own download (``Systran/faster-whisper-<name>``), each file checked against its ETag."""

    def fetch(dest: Path) -> None:
        from faster_whisper import download_model
        from huggingface_hub import constants

        with tempfile.TemporaryDirectory(prefix=".hub-", dir=dest) as hub_cache:
            try:
                snapshot = Path(resuming_once(lambda: download_model(name, cache_dir=hub_cache)))
            except (OSError, ValueError) as exc:
                raise ModelCacheError(f"fetching whisper {name} from {constants.ENDPOINT}") from exc
            for path in sorted(snapshot.iterdir()):
                check_hub_etag(path, f"whisper {name}/{path.name}")
                shutil.move(path.resolve(), dest / path.name)

    return fetch


def describe_failure(exc: BaseException) -> str:
    """The exception and its causes: huggingface_hub wraps the HTTP error that says what went wrong."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = " ".join(str(exc).split())
        parts.append(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return "; caused by ".join(parts)


def configured_specs(settings: Settings) -> list[ModelSpec]:
    """The models the worker would otherwise fetch from the public hub at warm-load."""
    from f5worker.engines.model_files import HUB_CHECKPOINTS, VOCOS_FILES, VOCOS_REPO, hub_repo_file

    specs = []
    if settings.tts_enabled and not settings.f5_ckpt_file and settings.f5_model in HUB_CHECKPOINTS:
        repo, checkpoint = hub_repo_file(HUB_CHECKPOINTS[settings.f5_model])
        vocab = f"{checkpoint.rsplit('/', 1)[0]}/vocab.txt"
        specs.append(ModelSpec(f"f5-tts/{settings.f5_model}", hub_files(repo, [checkpoint, vocab])))
    if settings.tts_enabled and not settings.f5_vocoder_path:
        specs.append(ModelSpec("vocos", hub_files(VOCOS_REPO, list(VOCOS_FILES))))
    if "whisperx" in settings.timing_engines and not Path(settings.whisper_model).is_dir():
        specs.append(ModelSpec(f"whisper/{settings.whisper_model}", whisper_files(settings.whisper_model)))
    if "whisperx" in settings.timing_engines:  # issue 25: WhisperX's wav2vec2 alignment models (ALIGN_MODEL)
        specs += align_specs(settings)
    return specs


def align_specs(settings: Settings) -> list[ModelSpec]:
    """Hub alignment models (``owner/name``) under ``align/<owner>/<name>``; local folders and torchaudio
    pipeline names (no ``/``: torchaudio downloads those itself) are not cached."""
    from f5worker.engines.model_files import ALIGN_CACHE, align_model_files

    def fetch(repo: str) -> Callable[[Path], None]:
        return lambda dest: hub_files(repo, align_model_files(repo))(dest)

    models = {model for model in settings.align_models.values() if "/" in model and not Path(model).is_dir()}
    return [ModelSpec(f"{ALIGN_CACHE}/{model}", fetch(model)) for model in sorted(models)]


def prepare_models(settings: Settings, extra: list[ModelSpec] = ()) -> list[ModelReport]:
    """Make every configured model available under MODEL_CACHE_DIR (the handler can call this too)."""
    if settings.storage_backend != "s3":
        log.info("local storage: the model cache needs S3 (AWS_S3_BUCKET ...); nothing to do")
        return []
    storage = open_storage(settings)
    return [ensure_model(storage, spec, settings.model_cache_dir) for spec in [*configured_specs(settings), *extra]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, help="local model directory (default: MODEL_CACHE_DIR)")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also cache a local model folder under models/NAME (repeatable)",
    )
    parser.add_argument("--only-extra", action="store_true", help="skip the models the settings configure")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        if args.dest:
            settings = settings.model_copy(update={"model_cache_dir": args.dest})
        extra = []
        for item in args.model:
            name, sep, folder = item.partition("=")
            if not sep or not name:
                parser.error(f"--model wants NAME=DIR, got {item!r}")
            extra.append(ModelSpec(name, copy_folder(Path(folder))))
        if args.only_extra:
            storage = open_storage(settings)
            reports = [ensure_model(storage, spec, settings.model_cache_dir) for spec in extra]
        else:
            reports = prepare_models(settings, extra)
    except (ConfigError, StorageError) as exc:
        log.error("model cache failed: %s", exc)
        return 1
    for report in reports:
        print(report.line(), flush=True)
    return 1 if any(report.action == "failed" for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
