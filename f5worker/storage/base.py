"""What every storage backend offers; endpoints depend on this, never on boto3 or paths."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    backend: str

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write atomically: readers see the old object or the whole new one."""

    def create_exclusive(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        """Write only if absent; False when the key exists. (Stores that ignore S3's If-None-Match,
        as Backblaze B2 may, can still return True: callers needing a lock must read back.)"""

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """Upload a local file atomically (single PUT or a completed multipart upload)."""

    def get_bytes(self, key: str) -> bytes:
        """Raise :class:`~f5worker.errors.NotFound` when the key is absent."""

    def download_file(self, key: str, dest: Path) -> None:
        """Fetch to a temp name beside ``dest``, then rename: no partial file is ever visible."""

    def size(self, key: str) -> int:
        """Bytes of the object; NotFound when absent."""

    def fingerprint(self, key: str) -> str:
        """Changes whenever the object does (S3 ETag; size, mtime and inode on disk); NotFound when absent."""

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def delete_listed(self, key: str) -> None:
        """Delete a key exactly as ``list_keys`` returned it (objects placed by hand may break check_key)."""

    def presigned_url(self, key: str) -> str | None:
        """A time-limited GET URL, or None where the backend has no URLs (local disk)."""

    def describe(self) -> dict:
        """Non-secret facts for the ``health`` endpoint."""

    def free_disk_bytes(self) -> int: ...
