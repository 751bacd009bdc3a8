"""The stamp that names a stack, and the check that the stack for this lock is complete.

    python -I -S scripts/stack_stamp.py   # exit 0 and print the stack's folder, or exit 3 (2: no lock file)

Every warm start runs this and nothing else of the installer, so it imports only the cheapest standard
modules and needs no site-packages. Reads WORKER_ROOT, REQUIREMENTS_FILE and FLASH_ATTN_WHEEL_URL.
"""

import hashlib
import os
import sys
import sysconfig

COMPLETE = ".stack-complete"  # written last into a verified stack, before it is renamed into place
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
