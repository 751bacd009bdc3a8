"""Local-directory storage: the embedded default, for development and credential-free runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import NotFound, StorageError
from ..files import TEMP_PREFIX, atomic_copy, atomic_write, create_exclusive
from .layout import check_key

class LocalStorage:
    backend = "local"

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        try:
            path = (self.root / check_key(key)).resolve()
        except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
            raise StorageError(f"{key} is a symbolic link that leads nowhere (a loop); it is not served") from None
        if self.root not in path.parents:  # a safe key, so a link placed in the folder points out of it
            raise StorageError(f"{key} leads outside the storage folder (a symbolic link); it is not served")
        return path

    def _inside(self, path: Path) -> bool:
        """A regular file whose real location is inside the root (not a link pointing out of it)."""
        return path.is_file() and self.root in path.resolve().parents

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"{key} does not exist")
        return path

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        try:
            atomic_write(self._path(key), data)
        except OSError as exc:
            raise StorageError(f"writing {key} failed: {exc.strerror or exc}") from exc

    def create_exclusive(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        """Of N racing writers exactly one creates the key, and no reader sees a partial file."""
        try:
            return create_exclusive(self._path(key), data)
        except OSError as exc:
            raise StorageError(f"writing {key} failed: {exc.strerror or exc}") from exc

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        try:
            atomic_copy(Path(path), self._path(key))
        except OSError as exc:
            raise StorageError(f"writing {key} failed: {exc.strerror or exc}") from exc

    def get_bytes(self, key: str) -> bytes:
        return self._existing(key).read_bytes()

    def download_file(self, key: str, dest: Path) -> None:
        try:
            atomic_copy(self._existing(key), Path(dest))
        except OSError as exc:
            raise StorageError(f"copying {key} failed: {exc.strerror or exc}") from exc

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def fingerprint(self, key: str) -> str:
        stat = self._existing(key).stat()
        return f"{stat.st_size}-{stat.st_mtime_ns}-{stat.st_ino}"  # a rewrite is a new inode

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str) -> list[str]:
        """Walk only the folder the prefix names, so listing one job stays cheap."""
        folder = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        keys = []
        for path in folder.rglob("*") if folder.is_dir() else ():
            if self._inside(path) and not path.name.startswith(TEMP_PREFIX):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_listed(self, key: str) -> None:
        """Delete a key exactly as ``list_keys`` gave it, even one ``check_key`` refuses (a file put there
        by hand, such as ``voices/Bad Name.wav``); it must still lie inside the root."""
        path = (self.root / key).resolve()
        if self.root not in path.parents or key.startswith("/"):
            raise ValueError(f"unsafe storage key: {key!r}")
        path.unlink(missing_ok=True)

    def presigned_url(self, key: str) -> str | None:
        return None

    def describe(self) -> dict:
        return {"backend": self.backend, "root": str(self.root)}

    def free_disk_bytes(self) -> int:
        return shutil.disk_usage(self.root).free
