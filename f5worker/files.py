"""Local file helpers shared by the local storage backend, the voice cache and the model cache.

Nothing half-written is ever visible under a final name: data goes to a temp file in the same folder
(the same file system, so the rename or link that publishes it is atomic), and a failure removes it.
Standard library only, so install scripts can use it before the worker's stack exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Temp files start with this, so listings can skip files still being written.
TEMP_PREFIX = ".tmp-"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (model checkpoints are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _temp_beside(dest: Path) -> Iterator[Path]:
    """A new empty temp file in ``dest``'s folder (made if missing), removed when the block fails."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=TEMP_PREFIX)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_synced(path: Path, data: bytes) -> None:
    """Write and fsync, so a crash after publishing cannot leave an empty or short file."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write(dest: Path, data: bytes) -> None:
    """Write beside ``dest`` under a temp name, flush, then rename over it."""
    with _temp_beside(dest) as temp:
        _write_synced(temp, data)
        os.replace(temp, dest)


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy to a temp name beside ``dest``, then rename over it."""
    with _temp_beside(dest) as temp:
        shutil.copyfile(src, temp)
        os.replace(temp, dest)


def create_exclusive(dest: Path, data: bytes) -> bool:
    """Create ``dest`` with ``data`` unless it exists; False when it does.

    Written whole under a temp name, then hard-linked into place: link() fails when the name exists,
    so of N racing writers exactly one creates it, and no reader sees a partial file.
    """
    with _temp_beside(dest) as temp:
        _write_synced(temp, data)
        try:
            os.link(temp, dest)
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)
    return True
