"""The stamp that names a stack, and the check that the stack for this lock is complete.

    python -I -S scripts/stack_stamp.py   # print the stack's folder and exit 0, or 4 (complete, but its
                                          # snapshot is not known to be in the bucket); else exit 3 (2: no lock)

Every warm start runs this and nothing else of the installer, so it imports only the cheapest standard
modules and needs no site-packages. Reads WORKER_ROOT, REQUIREMENTS_FILE, FLASH_ATTN_WHEEL_URL, and
STACK_SNAPSHOT and the AWS_* storage variables (whether snapshots are kept in a bucket at all).
"""

import hashlib
import os
import sys
import sysconfig
import time

COMPLETE = ".stack-complete"  # written last into a verified stack, before it is renamed into place
SNAPSHOT_IN_BUCKET = ".snapshot-in-bucket"  # in a stack: the bucket holds its snapshot (stack_snapshot.py)
SNAPSHOT_FAILED = ".snapshot-failed"  # in a stack: its last snapshot upload failed
SNAPSHOT_RETRY_S = 3600  # a failed upload is retried by the first start this long after it
SNAPSHOT_MISSING = 4
DEFAULT_LOCK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "requirements.txt")


def stamp_of(lock: str, flash_url: str = "") -> str:
    """Hash of the lock, the Python (version, build, base interpreter) and the platform: a stack's name."""
    with open(lock, "rb") as handle:
        digest = hashlib.sha256(handle.read())
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    for part in (sys.version, base, sysconfig.get_platform(), flash_url):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:20]


def lock_path(env=os.environ) -> str:
    return env.get("REQUIREMENTS_FILE") or DEFAULT_LOCK


def stack_folder(root: str, env=os.environ) -> str:
    return os.path.join(root, "stacks", stamp_of(lock_path(env), env.get("FLASH_ATTN_WHEEL_URL", "")))


def snapshot_missing(folder: str, env=os.environ) -> bool:
    """Snapshots are on, this stack's is not known to be in the bucket and no upload failed in the last hour."""
    bucket = all(env.get(name) for name in ("AWS_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    if not bucket or (env.get("STACK_SNAPSHOT") or "1") == "0":
        return False
    if os.path.isfile(os.path.join(folder, SNAPSHOT_IN_BUCKET)):
        return False
    try:
        return time.time() - os.stat(os.path.join(folder, SNAPSHOT_FAILED)).st_mtime > SNAPSHOT_RETRY_S
    except OSError:
        return True


def main() -> int:
    if not os.path.isfile(lock_path()):
        print(f"error: REQUIREMENTS_FILE {lock_path()} does not exist", file=sys.stderr)
        return 2
    folder = stack_folder(os.environ["WORKER_ROOT"])
    if not os.path.isfile(os.path.join(folder, COMPLETE)):
        return 3
    try:
        os.utime(os.path.join(folder, ".last-used"))  # old stacks nobody starts from are removed after days
    except FileNotFoundError:
        open(os.path.join(folder, ".last-used"), "w").close()
    except OSError:
        pass
    print(folder)
    return SNAPSHOT_MISSING if snapshot_missing(folder) else 0


if __name__ == "__main__":
    sys.exit(main())
