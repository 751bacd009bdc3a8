"""Folders owned by a process (``f5worker/owned_dirs.py``): only those whose owner has ended are removed.

Owners are real processes started here; "ended" means really ended (SIGKILL, or ``os._exit`` with no
clean-up), never a pretend lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from f5worker.owned_dirs import OWNER_LOCK, make_owned_dir, remove_owned_dir, remove_ownerless_dirs
from tests.helpers import REPO

PREFIX = "work-"

# A process that makes an owned folder under argv[1], prints it, then does what argv[2] says.
OWNER = f"""
import os, signal, sys, time
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from f5worker.owned_dirs import make_owned_dir, remove_owned_dir
path = make_owned_dir(Path(sys.argv[1]), {PREFIX!r})
if sys.argv[2] == "fork-and-leave":  # a child (the SDK's heartbeat is one) outlives its parent
    if os.fork() == 0:
        remove_owned_dir(path)  # a child never removes its parent's folder
        print(os.getpid(), path, flush=True)
        time.sleep(60)
    os._exit(0)
print(os.getpid(), path, flush=True)
if sys.argv[2] == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60)
"""


def start_owner(parent: Path, how: str) -> tuple[subprocess.Popen, int, Path]:
    """An owner process; the pid of the process that printed (it, or its child) and the folder."""
    process = subprocess.Popen([sys.executable, "-c", OWNER, str(parent), how], stdout=subprocess.PIPE, text=True)
    pid, path = process.stdout.readline().split()
    return process, int(pid), Path(path)


def removed_within(parent: Path, seconds: float) -> list[Path]:
    """Clean up until something goes (a just-killed process's lock is freed as the kernel reaps it)."""
    deadline = time.monotonic() + seconds
    while True:
        removed = remove_ownerless_dirs(parent, PREFIX)
        if removed or time.monotonic() > deadline:
            return removed
        time.sleep(0.05)


def test_folders_of_ended_owners_go_and_those_of_live_owners_stay(tmp_path):
    killed, _, killed_dir = start_owner(tmp_path, "killed")
    killed.wait(timeout=30)
    (killed_dir / "left-behind.bin").write_bytes(b"x" * 100)
    live, _, live_dir = start_owner(tmp_path, "live")
    legacy = tmp_path / f"{PREFIX}from-an-older-version"  # no lock file at all: nobody owns it
    legacy.mkdir()
    (tmp_path / f"{PREFIX}a-file").write_text("not a folder")
    mine = make_owned_dir(tmp_path, PREFIX)
    try:
        assert remove_ownerless_dirs(tmp_path, PREFIX) == sorted([killed_dir, legacy])
        assert live_dir.is_dir() and (live_dir / OWNER_LOCK).exists() and mine.is_dir()
        assert (tmp_path / f"{PREFIX}a-file").exists()
        live.kill()
        live.wait(timeout=30)
        assert removed_within(tmp_path, 5) == [live_dir]
        assert sorted(path.name for path in tmp_path.iterdir()) == sorted([f"{PREFIX}a-file", mine.name])
    finally:
        live.kill()
        remove_owned_dir(mine)
    assert not mine.exists()
    remove_owned_dir(mine)  # a second call is a no-op


def test_a_forked_child_neither_removes_its_parents_folder_nor_keeps_it_owned(tmp_path):
    """The SDK's heartbeat is such a child: the folder is its parent's alone, whatever the child does."""
    parent, child, folder = start_owner(tmp_path, "fork-and-leave")  # the child prints once it has tried
    try:
        parent.wait(timeout=30)
        assert folder.is_dir(), "the child must not remove its parent's folder"
        assert removed_within(tmp_path, 5) == [folder], "the parent has ended: nobody owns it any more"
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_folder_is_made_under_its_visible_name_only_once_locked(tmp_path):
    """It is made under a hidden name that clean-ups never look at, and renamed once locked: none is left over."""
    made = make_owned_dir(tmp_path / "new-parent", PREFIX)
    try:
        assert [path.name for path in made.parent.iterdir()] == [made.name]
        assert made.name.startswith(PREFIX) and (made / OWNER_LOCK).exists()
    finally:
        remove_owned_dir(made)
