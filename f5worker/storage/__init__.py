"""Storage backends behind one interface: S3 (Backblaze B2) when configured, else a local directory."""

from __future__ import annotations

from ..settings import Settings
from .base import Storage
from .local import LocalStorage


def open_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        from .s3 import S3Storage

        return S3Storage(settings)
    return LocalStorage(settings.storage_dir)


__all__ = ["LocalStorage", "Storage", "open_storage"]
