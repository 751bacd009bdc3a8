"""A temp folder of the worker's own, so start-up imports leave nothing behind in the system's.

Importing f5-tts pulls in wandb, which creates ``tmp*wandb-media`` and ``tmp*wandb-artifacts``
folders at import time and only removes them at a clean interpreter exit; a worker stopped by a
signal left them in ``/tmp`` at every start. Pointing ``tempfile`` and ``TMPDIR`` at a per-process
folder before the heavy imports keeps all of that in one place, which is removed at exit (SIGTERM
included) and, should the process be killed outright, by the next worker's start.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

ROOT_PREFIX = "f5worker-tmp-"
_shared_base: Path | None = None  # the temp folder all worker processes share (set by use_private_temp_root)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_roots(base: Path) -> list[Path]:
    """Remove the temp roots of worker processes that no longer run (killed before their exit hook)."""
    removed = []
    for folder in base.glob(f"{ROOT_PREFIX}*"):
        pid = folder.name.removeprefix(ROOT_PREFIX).partition("-")[0]
        if folder.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _remove_if_owner(root: Path, owner: int) -> None:
    """Only the process that made the root removes it (a forked child exiting through atexit must not)."""
    if os.getpid() == owner:
        shutil.rmtree(root, ignore_errors=True)


def _exit_on_sigterm(signum, frame) -> None:
    sys.exit(128 + signum)  # SystemExit runs the atexit hooks (a bare SIGTERM would skip them)


def shared_temp_base() -> Path:
    """The temp folder shared by every worker process (not this process's private root): for state that a
    later process must find, such as the SDK job-state folders of processes that were killed."""
    return _shared_base or Path(tempfile.gettempdir())


def use_private_temp_root(base: str | os.PathLike | None = None) -> Path:
    """Send this process's (and its children's) temp files to a folder of its own; remove it at exit."""
    global _shared_base
    base_dir = Path(base or tempfile.gettempdir())
    _shared_base = base_dir
    remove_stale_roots(base_dir)
    root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-", dir=base_dir))
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)
    atexit.register(_remove_if_owner, root, os.getpid())
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return root
