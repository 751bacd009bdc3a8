"""A finished stack as one zstd tar in the bucket, so a fresh volume restores instead of installing.

Bucket layout under STACKS_PREFIX (``stacks/``), keyed by the stack's stamp (scripts/stack.py):
``<stamp>/stack.tar.zst`` (uploaded in parts), then ``<stamp>/manifest.json`` with its size and sha256,
written last, so a manifest always describes a complete archive. ``<stamp>/.lock`` is taken with a
conditional create (the model cache's scheme) so one worker uploads while the others go on.

Restoring downloads the archive with parallel ranged GETs to a temp file, checks size and sha256, and
unpacks it streaming (zstandard into ``tar -x``) into the caller's temp folder; anything wrong returns
False and the caller installs from wheels instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from stack import Step, log, sha256_file, storage

PART_BYTES = 32 * 1024 * 1024
PARALLEL = 16
LOCK_STALE_S = 3600.0
LOCK_SETTLE_S = 1.0


def keys(config, stamp: str) -> tuple[str, str, str]:
    base = f"{config.stacks_prefix}{stamp}/"
    return base + "stack.tar.zst", base + "manifest.json", base + ".lock"


def transfer_config():
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=PARALLEL)


def download(store, key: str, dest: Path) -> None:
    """Parallel ranged GETs on S3 (boto3's transfer manager), a plain copy on local storage."""
    from f5worker.storage.s3 import S3Storage, s3_errors

    if isinstance(store, S3Storage):
        with s3_errors("download", key):
            store.client.download_file(store.bucket, key, str(dest), Config=transfer_config())
    else:
        store.download_file(key, dest)


def upload(store, key: str, path: Path) -> None:
    from f5worker.storage.s3 import S3Storage, s3_errors

    if isinstance(store, S3Storage):
        with s3_errors("upload", key):
            store.client.upload_file(str(path), store.bucket, key, Config=transfer_config())
    else:
        store.put_file(key, path)


def read_manifest(store, key: str) -> dict | None:
    from f5worker.errors import NotFound

    try:
        return json.loads(store.get_bytes(key))
    except NotFound:
        return None


def restore(config, building: Path) -> bool:
    """Unpack the bucket's snapshot of this stack into ``building``; False when there is none or it is bad."""
    archive_key, manifest_key, _lock = keys(config, config.stamp)
    with Step("restore snapshot") as step:
        try:
            store = storage()
            manifest = read_manifest(store, manifest_key)
            if manifest is None:
                step.note = "no snapshot of this stack in the bucket yet"
                return False
            fd, name = tempfile.mkstemp(prefix="snapshot-", suffix=".tar.zst", dir=config.tmp)
            os.close(fd)
            archive = Path(name)
            try:
                download(store, archive_key, archive)
                size, digest = archive.stat().st_size, sha256_file(archive)
                if size != manifest.get("size") or digest != manifest.get("sha256"):
                    log(
                        f"warning: the snapshot {archive_key} does not match its manifest (size {size}, sha256 "
                        f"{digest[:12]}); installing from wheels instead"
                    )
                    return False
                unpack(archive, building)
            finally:
                archive.unlink(missing_ok=True)
            step.note = f"{size / 1e6:.1f} MB, sha256 checked"
            return True
        except Exception as exc:  # the bucket is a cache: any failure means the wheel route
            log(f"warning: restoring the snapshot failed ({type(exc).__name__}: {exc}); installing from wheels instead")
            shutil.rmtree(building, ignore_errors=True)
            return False


def unpack(archive: Path, building: Path) -> None:
    """Decompress with zstandard straight into ``tar -x`` (C on both sides: Python's tarfile is 4x slower)."""
    import zstandard

    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    tar = subprocess.Popen(["tar", "-x", "-f", "-", "-C", str(building)], stdin=subprocess.PIPE)
    try:
        with open(archive, "rb") as raw:
            zstandard.ZstdDecompressor().copy_stream(raw, tar.stdin, write_size=1 << 20)
    finally:
        tar.stdin.close()
        status = tar.wait()
    if status != 0:
        raise OSError(f"tar -x exited with {status}")


class Hashing:
    """A file that also hashes what is written to it."""

    def __init__(self, handle):
        self.handle, self.digest = handle, hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        return self.handle.write(data)


def pack(folder: Path, dest: Path) -> tuple[int, str]:
    """``tar -c`` of ``folder`` (relative names) through zstd into ``dest``; return its size and sha256."""
    import zstandard

    tar = subprocess.Popen(
        ["tar", "-c", "-f", "-", "-C", str(folder), "--exclude=./.last-used", "."], stdout=subprocess.PIPE
    )
    with open(dest, "wb") as handle:
        out = Hashing(handle)
        zstandard.ZstdCompressor(level=3, threads=-1).copy_stream(tar.stdout, out, read_size=1 << 20)
    if tar.wait() != 0:
        raise OSError(f"tar -c exited with {tar.returncode}")
    return dest.stat().st_size, out.digest.hexdigest()


def take_lock(store, key: str) -> str | None:
    """The upload right for one stamp: conditional create, then read back after a pause."""
    from f5worker.errors import NotFound

    try:
        holder = json.loads(store.get_bytes(key))
        if time.time() - holder.get("at", 0) < LOCK_STALE_S:
            return None
        log("snapshot: taking over a stale upload lock")
        store.delete(key)
    except (NotFound, ValueError):
        pass
    token = uuid.uuid4().hex
    if not store.create_exclusive(key, json.dumps({"token": token, "at": time.time()}).encode()):
        return None
    time.sleep(LOCK_SETTLE_S)
    try:
        return token if json.loads(store.get_bytes(key)).get("token") == token else None
    except (NotFound, ValueError):
        return None


def publish(config, folder: Path) -> None:
    """Upload the snapshot of a finished stack unless one exists or another worker is uploading it."""
    archive_key, manifest_key, lock_key = keys(config, config.stamp)
    with Step("upload snapshot") as step:
        try:
            store = storage()
            if read_manifest(store, manifest_key) is not None:
                step.note = "already in the bucket"
                return
            if take_lock(store, lock_key) is None:
                step.note = "another worker is uploading it"
                return
            try:
                fd, name = tempfile.mkstemp(prefix="snapshot-", suffix=".tar.zst", dir=config.tmp)
                os.close(fd)
                archive = Path(name)
                try:
                    size, digest = pack(folder, archive)
                    upload(store, archive_key, archive)
                finally:
                    archive.unlink(missing_ok=True)
                manifest = {"stamp": config.stamp, "size": size, "sha256": digest, "created": time.time()}
                store.put_bytes(manifest_key, json.dumps(manifest).encode(), "application/json")
                step.note = f"{size / 1e6:.1f} MB as {archive_key}"
            finally:
                store.delete(lock_key)
        except Exception as exc:
            log(f"warning: uploading the snapshot failed ({type(exc).__name__}: {exc}); fresh volumes use wheels")
