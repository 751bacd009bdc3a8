"""Folders owned by one worker process, which a later process can tell from those of ended ones.

The owner holds an exclusive lock on ``owner.lock`` inside its folder for as long as it lives; the kernel
drops the lock however the process ends, SIGKILL included. A folder whose lock can be taken therefore has
no owner left, and is removed. Unlike a process id in the folder's name, a lock cannot be mistaken for a
live owner when the id has been reused, as it is in a container, where the worker gets the same small pid
at every start. Ownership is the process's own: filelock closes the inherited descriptor in a forked
child (such as the SDK's heartbeat), so a child neither keeps a folder owned after its parent has ended
nor, through ``remove_owned_dir``, removes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock, Timeout

OWNER_LOCK = "owner.lock"
_held: dict[Path, tuple[FileLock, int]] = {}  # this process's folders: their held lock and the owner's pid


def make_owned_dir(parent: Path, prefix: str) -> Path:
    """A new folder ``parent/prefix…`` owned by this process until it ends (or ``remove_owned_dir``).

    It is made under a hidden name, locked, and only then renamed to its visible one: a clean-up running
    in another process at the same moment never sees it unlocked.
    """
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{prefix}", dir=parent))
    lock = FileLock(staging / OWNER_LOCK)
    lock.acquire(timeout=0)
    path = parent / staging.name.removeprefix(".")
    os.rename(staging, path)  # the open lock file moves with its folder; the lock stays held
    _held[path] = (lock, os.getpid())
    return path


def remove_ownerless_dirs(parent: Path, prefix: str) -> list[Path]:
    """Delete the ``prefix…`` folders in ``parent`` whose owner has ended (their lock is free); return them."""
    removed = []
    for path in sorted(parent.glob(f"{prefix}*")):
        if not path.is_dir() or path in _held:
            continue
        lock = FileLock(path / OWNER_LOCK)
        try:
            lock.acquire(timeout=0)
        except (Timeout, OSError):
            continue  # its owner is alive (or the lock cannot be judged): leave it alone
        try:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            lock.release()
    return removed


def remove_owned_dir(path: Path) -> None:
    """Delete a folder this process made; a forked child (which inherited the record) leaves it alone."""
    held = _held.get(path)
    if held is None or held[1] != os.getpid():
        return
    shutil.rmtree(path, ignore_errors=True)
    held[0].release()
    del _held[path]
