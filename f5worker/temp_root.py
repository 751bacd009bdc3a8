"""A temp folder of the worker's own, so start-up imports leave nothing behind in the system's.

Importing f5-tts pulls in wandb, which creates ``tmp*wandb-media`` and ``tmp*wandb-artifacts``
folders at import time and only removes them at a clean interpreter exit; a worker stopped by a
signal left them in ``/tmp`` at every start. Pointing ``tempfile`` and ``TMPDIR`` at a per-process
folder before the heavy imports keeps all of that in one place, which is removed at exit (SIGTERM
included, and the bounded shutdown's ``os._exit``) and, should the process be killed outright, by the next
worker's start (``owned_dirs``: the root's owner lock is free once its process has ended).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

from .owned_dirs import make_owned_dir, remove_owned_dir, remove_ownerless_dirs

ROOT_PREFIX = "f5worker-tmp-"
_shared_base: Path | None = None  # the temp folder all worker processes share (set by use_private_temp_root)
_private_root: Path | None = None  # this process's root (set by use_private_temp_root)


def _exit_on_sigterm(signum, frame) -> None:
    sys.exit(128 + signum)  # SystemExit runs the atexit hooks (a bare SIGTERM would skip them)


def shared_temp_base() -> Path:
    """The temp folder shared by every worker process (not this process's private root): for state that a
    later process must find, such as the SDK job-state folders of processes that were killed."""
    return _shared_base or Path(tempfile.gettempdir())


def use_private_temp_root(base: str | os.PathLike | None = None) -> Path:
    """Send this process's (and its children's) temp files to a folder of its own; remove it at exit."""
    global _shared_base, _private_root
    base_dir = Path(base or tempfile.gettempdir())
    _shared_base = base_dir
    remove_ownerless_dirs(base_dir, ROOT_PREFIX)
    root = make_owned_dir(base_dir, f"{ROOT_PREFIX}{os.getpid()}-")  # the pid is for people reading /tmp
    _private_root = root
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)
    atexit.register(remove_private_temp_root)
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return root


def remove_private_temp_root() -> None:
    """Delete this process's temp root: at exit, and just before an ``os._exit`` (which skips atexit).

    Only the process that made it does so (a forked child ending through atexit leaves it alone).
    """
    if _private_root is not None:
        remove_owned_dir(_private_root)
