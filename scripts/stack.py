#!/usr/bin/env python
"""The worker's Python stack on persistent storage: one venv per lock, installed by uv.

    python scripts/stack.py install   # make the stack complete (the caller holds the install lock), print it
    python scripts/stack.py snapshot  # put a complete stack's snapshot in the bucket if it is not there yet

(scripts/stack_stamp.py is the quick check that runs first on every start.)

A stack lives in ``<root>/stacks/<stamp>``, where the stamp hashes the lock file, the Python that runs it
and the platform (and FLASH_ATTN_WHEEL_URL when set). A changed pin therefore installs a new stack beside
the old one, in ``stacks/.tmp-<stamp>-<pid>``, renamed into place when verified; ``<root>/stack`` is a
symlink to the newest one, switched by renaming a new link over it. Workers already running an older
stack keep their folder.

Routes to a complete stack, the first that works:
  1. the snapshot in the bucket (``stacks/<stamp>/``: a zstd tar of a finished stack, see stack_snapshot.py);
  2. the wheelhouse: ``wheels/`` of the bucket restored into ``<root>/wheels``, the wheels still missing
     fetched with ``pip wheel`` (retried with backoff, never building flash-attn) and uploaded back, each
     with a ``.sha256`` file; then ``uv pip sync --no-index --require-hashes`` from the wheelhouse. Every
     wheel is checked against the lock's own ``--hash`` options (``uv pip compile --generate-hashes``) by
     pip when fetched, here when found in the wheelhouse and by uv when installed; a lock without hashes
     falls back to the index's hashes at the download and the ``.sha256`` files after that.
After the wheelhouse route one worker (under a lock object in the bucket) uploads the snapshot; a start
that finds its stack complete but its snapshot not recorded as uploaded runs ``snapshot`` in the background.

Variables (defaults in brackets): WORKER_ROOT (required), REQUIREMENTS_FILE [requirements.txt of this repo],
INSTALL_MIN_FREE_MB [12000], INSTALL_RETRIES [3], INSTALL_BACKOFF_S [5], INSTALL_TIMEOUT_S [120],
INSTALL_DOWNLOAD_JOBS [4], WHEELS_PREFIX [wheels/], STACKS_PREFIX [stacks/], STACK_SNAPSHOT [1],
STACK_KEEP_DAYS [7], STACK_LOCK_STALE_S [120], INSTALL_LOCK_TIMEOUT_S [1800], FLASH_ATTN_WHEEL_URL,
FORCE_CUDA, S3_CONFIGURED and the AWS_* storage variables.
Logs go to stderr; stdout is the stack's folder. Exit status: 0 ready, 1 failure, 2 bad configuration.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stack_base import Step, log, log_warnings_too, sha256_file, storage
from stack_stamp import COMPLETE, stamp_of

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HASH_OPTION = re.compile(r"\s--hash[=\s]+(\S+)")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*===?\s*([^\s;#]+)\s*(;[^#]*)?(#.*)?$")
BUILT = "built-here-from-an-sdist-the-lock-checked"  # in a .sha256 file: see checked_wheels
NEVER_BUILT = ("flash-attn",)  # compiling it takes hours: only ever a prebuilt wheel


class InstallError(Exception):
    """A failure with its reason; ``status`` 2 means bad configuration."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_lines(lock: Path) -> list[tuple[int, str]]:
    """(first line number, logical line) of a requirements file: ``\\`` continuations joined, comments dropped."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(lock.read_text().splitlines(), 1):
        line = raw.strip()
        if not pending:
            if not line or line.startswith("#"):
                continue
            start = number
        continued = line.endswith("\\")
        pending = " ".join(part for part in (pending, line.removesuffix("\\").strip()) if part)
        if not continued:
            lines.append((start, pending))
            pending = ""
    if pending:
        lines.append((start, pending))
    return lines


def read_lock(lock: Path) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """{canonical name: version} of a complete lock (every requirement pinned with ==; markers kept as is), and
    {canonical name: the sha256 digests its ``--hash`` options allow} (empty when the lock carries no hashes)."""
    pins: dict[str, str] = {}
    hashes: dict[str, frozenset[str]] = {}
    for number, line in lock_lines(lock):
        if line.startswith("-"):
            continue
        options = HASH_OPTION.findall(line)
        requirement = HASH_OPTION.sub("", line).strip()
        match = PIN.match(requirement)
        if not match or "*" in match.group(3):
            raise InstallError(f"{lock} line {number}: {line!r} is not pinned with == (a lock pins everything)", 2)
        name = canonical(match.group(1))
        pins[name] = match.group(3)
        hashes[name] = frozenset(value.split(":", 1)[1].lower() for value in options if value.startswith("sha256:"))
    if not pins:
        raise InstallError(f"{lock} pins no package", 2)
    unhashed = [name for name, digests in hashes.items() if not digests]
    if unhashed and len(unhashed) < len(pins):
        raise InstallError(
            f"{lock}: {', '.join(unhashed[:5])} without a sha256 --hash while other pins have one (a lock hashes every "
            "pin or none: uv pip compile --generate-hashes)",
            2,
        )
    return pins, ({} if unhashed else hashes)


def read_pins(lock: Path) -> dict[str, str]:
    return read_lock(lock)[0]


@dataclass
class Config:
    root: Path
    lock: Path
    min_free_mb: int
    retries: int
    backoff_s: float
    timeout_s: int
    download_jobs: int
    wheels_prefix: str
    stacks_prefix: str
    snapshot: bool
    keep_days: float
    lock_stale_s: float
    lock_timeout_s: float
    flash_url: str
    cuda: bool
    s3: bool

    @classmethod
    def from_env(cls, env=os.environ) -> Config:
        def number(name: str, default: str, kind=int, minimum: float = 0):
            text = env.get(name) or default
            try:
                value = kind(text)
            except ValueError:
                raise InstallError(f"{name} must be a number, not {text!r}", 2) from None
            if value < minimum:
                raise InstallError(f"{name} must be at least {minimum}", 2)
            return value

        root = env.get("WORKER_ROOT")
        if not root or not Path(root).is_dir():
            raise InstallError(f"WORKER_ROOT {root!r} is not a directory (run scripts/setup-backblaze-storage.sh)", 2)
        lock = Path(env.get("REQUIREMENTS_FILE") or REPO / "requirements.txt")
        if not lock.is_file():
            raise InstallError(f"REQUIREMENTS_FILE {lock} does not exist", 2)
        s3 = all(env.get(name) for name in ("AWS_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
        return cls(
            root=Path(root).resolve(),
            lock=lock.resolve(),
            min_free_mb=number("INSTALL_MIN_FREE_MB", "12000"),
            retries=number("INSTALL_RETRIES", "3", minimum=1),
            backoff_s=number("INSTALL_BACKOFF_S", "5", float),
            timeout_s=number("INSTALL_TIMEOUT_S", "120", minimum=1),
            download_jobs=number("INSTALL_DOWNLOAD_JOBS", "4", minimum=1),
            wheels_prefix=(env.get("WHEELS_PREFIX") or "wheels/").strip("/") + "/",
            stacks_prefix=(env.get("STACKS_PREFIX") or "stacks/").strip("/") + "/",
            snapshot=(env.get("STACK_SNAPSHOT") or "1") != "0",
            keep_days=number("STACK_KEEP_DAYS", "7", float),
            lock_stale_s=number("STACK_LOCK_STALE_S", "120", float, minimum=1),
            lock_timeout_s=number("INSTALL_LOCK_TIMEOUT_S", "1800", float),
            flash_url=env.get("FLASH_ATTN_WHEEL_URL", ""),
            cuda=env.get("FORCE_CUDA") == "1" or shutil.which("nvidia-smi") is not None,
            s3=s3,
        )

    @property
    def stamp(self) -> str:
        return stamp_of(str(self.lock), self.flash_url)

    @property
    def stacks(self) -> Path:
        return self.root / "stacks"

    @property
    def wheels(self) -> Path:
        return self.root / "wheels"

    @property
    def tmp(self) -> Path:
        """The installer's own temp folder: only installers (under the lock) use it, so leftovers can go."""
        return self.root / "tmp" / "install"


def complete_stack(config: Config) -> Path | None:
    folder = config.stacks / config.stamp
    return folder if (folder / COMPLETE).is_file() else None


# --- helpers with one job each ---


def free_mb(path: Path) -> int:
    return shutil.disk_usage(path).free // (1024 * 1024)


def need_space(config: Config, what: str) -> None:
    """Refuse a writing step without INSTALL_MIN_FREE_MB free; the caches on the root go first."""
    free = free_mb(config.root)
    if free >= config.min_free_mb:
        return
    log(f"disk: only {free} MB free, {config.min_free_mb} MB needed for {what}: emptying the caches on {config.root}")
    for cache in ("uv-cache", "pip-cache"):
        shutil.rmtree(config.root / cache, ignore_errors=True)
        (config.root / cache).mkdir(exist_ok=True)
    free = free_mb(config.root)
    if free < config.min_free_mb:
        raise InstallError(
            f"not enough disk space for {what}: {config.min_free_mb} MB needed on {config.root}, {free} MB free after "
            "emptying the caches; free space there, use a larger volume, or lower INSTALL_MIN_FREE_MB"
        )
    log(f"disk: {free} MB free after emptying the caches")


def retry(config: Config, what: str, action) -> None:
    """Run ``action`` up to INSTALL_RETRIES times, waiting INSTALL_BACKOFF_S, then twice as long, ..."""
    for attempt in range(1, config.retries + 1):
        log(f"{what}: attempt {attempt}/{config.retries}")
        try:
            action()
            return
        except InstallError as exc:
            if attempt == config.retries:
                log(f"{what}: attempt {attempt}/{config.retries} failed ({exc}); giving up")
                raise
            delay = config.backoff_s * 2 ** (attempt - 1)
            log(f"{what}: attempt {attempt}/{config.retries} failed ({exc}); retrying in {delay:g}s")
            time.sleep(delay)


def tool_env(config: Config) -> dict[str, str]:
    """Every temp file and cache on the root; nothing from the image's venv leaks into the stack."""
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "PIP_TARGET", "PIP_PREFIX", "PIP_USER", "PIP_NO_CACHE_DIR", "UV_LINK_MODE")
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env.update(
        TMPDIR=str(config.tmp),
        UV_CACHE_DIR=str(config.root / "uv-cache"),
        PIP_CACHE_DIR=str(config.root / "pip-cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
    )
    return env


def run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, stdout=sys.stderr, stderr=sys.stderr)
    if result.returncode != 0:
        raise InstallError(f"{what} exited with {result.returncode}")


def uv() -> str:
    found = shutil.which("uv")
    if not found:
        raise InstallError("uv is not on PATH (the image installs it; on this machine: pip install uv)", 2)
    return found


def pip_command() -> list[str]:
    """pip of this interpreter (the image's venv is made with --seed), else a python3 on PATH that has one."""
    for python in (sys.executable, shutil.which("python3")):
        if python and subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [python, "-m", "pip"]
    raise InstallError("no pip to fetch wheels with: make the image's venv with `uv venv --seed`", 2)


# --- the wheelhouse ---


def wheel_pin(path: Path) -> tuple[str, str] | None:
    parts = path.name[: -len(".whl")].split("-")
    if len(parts) < 5:
        return None
    return canonical(parts[0]), parts[1]


def supported_tags() -> set[str]:
    try:
        from packaging.tags import sys_tags
    except ImportError:  # pip's vendored copy, always there when pip is
        from pip._vendor.packaging.tags import sys_tags
    return {str(tag) for tag in sys_tags()}


def wheel_fits(path: Path, tags: set[str]) -> bool:
    py, abi, plat = path.name[: -len(".whl")].split("-")[-3:]
    return any(f"{p}-{a}-{pl}" in tags for p in py.split(".") for a in abi.split(".") for pl in plat.split("."))


def checked_wheels(
    config: Config, pins: dict[str, str], hashes: dict[str, frozenset[str]]
) -> dict[str, list[tuple[Path, str]]]:
    """{name: [(wheel, sha256)]} for the pinned wheels that fit this Python and match a hash the lock lists for
    their pin (a lock without hashes: their ``.sha256`` file).

    A pin the index has only as an sdist cannot match the lock: pip checked the sdist against the lock and
    built the wheel here, and its ``.sha256`` file says so (BUILT); such a wheel is checked against that file.
    A wheel with another hash (or none to check) is deleted: an interrupted copy, a corrupt or a foreign one."""
    tags = supported_tags()
    found: dict[str, list[tuple[Path, str]]] = {}
    for wheel in sorted(config.wheels.glob("*.whl")):
        pin = wheel_pin(wheel)
        if not pin or pins.get(pin[0]) != pin[1] or not wheel_fits(wheel, tags):
            continue
        sidecar = wheel.with_name(wheel.name + ".sha256")
        actual = sha256_file(wheel)
        recorded = sidecar.read_text().split() if sidecar.is_file() else []
        expected = recorded[0] if recorded else ""
        if hashes:
            built_here = BUILT in recorded and actual == expected
            good, why = actual in hashes[pin[0]] or built_here, "has a hash the lock does not list"
        else:
            good, why = actual == expected, "has another hash than its .sha256" if expected else "has no .sha256"
        if not good:
            log(f"wheelhouse: {wheel.name} {why}: removed")
            wheel.unlink()
            sidecar.unlink(missing_ok=True)
            continue
        found.setdefault(pin[0], []).append((wheel, actual))
    return found


def wheel_patterns(pins: dict[str, str]) -> list[str]:
    """File-name globs (case-insensitive) of the pinned wheels and their hash files in the bucket."""
    patterns = []
    for name, version in pins.items():
        stem = re.sub(r"[-_.]+", "[-_.]", name) + f"-{version}-*.whl"
        patterns += [stem, stem + ".sha256"]
    return patterns


def restore_wheels(config: Config, pins: dict[str, str]) -> None:
    import s3sync

    with Step("restore wheels") as step:
        need_space(config, "restoring wheels")
        try:
            result = s3sync.pull(storage(), config.wheels_prefix, config.wheels, wheel_patterns(pins))
            step.note = f"{result.transferred} downloaded, {result.up_to_date} up to date, {result.failed} failed"
        except Exception as exc:  # the bucket is a cache: its failures cost time, never the start
            log(f"warning: restoring wheels from the bucket failed ({type(exc).__name__}: {exc}); using the index")


def fetch_wheels(config: Config, missing: list[str], hashes: dict[str, frozenset[str]]) -> None:
    """``pip wheel`` the missing pins in parallel batches, into the wheelhouse. pip checks each download against
    the lock's ``--hash`` options (``missing`` carries them) or, for a lock without hashes, the index's hash."""
    with Step("download wheels") as step:
        need_space(config, f"downloading {len(missing)} wheel(s)")
        pip = pip_command()
        env = tool_env(config)
        stage = Path(__import__("tempfile").mkdtemp(prefix="stage-", dir=config.tmp))
        jobs = min(config.download_jobs, len(missing))
        batches = [missing[index::jobs] for index in range(jobs)]

        def fetch() -> None:
            processes = []
            for number, batch in enumerate(batches):
                listing = stage / f"batch-{number}.txt"
                listing.write_text("".join(f"{line}\n" for line in batch))
                command = [
                    *pip,
                    "wheel",
                    "--no-deps",
                    "--progress-bar",
                    "off",
                    "--timeout",
                    str(config.timeout_s),
                    "--wheel-dir",
                    str(stage / "out"),
                    "--find-links",
                    str(config.wheels),
                    *[arg for name in NEVER_BUILT for arg in ("--only-binary", name)],
                    "-r",
                    str(listing),
                ]
                processes.append(subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr))
            failed = [process.wait() for process in processes]
            if any(failed):
                raise InstallError(f"pip wheel exited with {max(failed)}")

        retry(config, "download wheels", fetch)
        added = 0
        for wheel in sorted((stage / "out").glob("*.whl")):
            digest = sha256_file(wheel)
            pin = wheel_pin(wheel)
            built = bool(hashes) and pin is not None and digest not in hashes.get(pin[0], ())
            os.replace(wheel, config.wheels / wheel.name)
            sidecar = config.wheels / f"{wheel.name}.sha256"
            tmp = config.wheels / f".tmp-{wheel.name}.sha256"
            tmp.write_text(f"{digest}  {wheel.name}{f'  {BUILT}' if built else ''}\n")
            os.replace(tmp, sidecar)
            added += 1
        shutil.rmtree(stage, ignore_errors=True)
        step.note = f"{added} wheel(s) added to {config.wheels}"


def upload_wheels(config: Config) -> None:
    import s3sync

    with Step("upload wheels") as step:
        try:
            result = s3sync.push(storage(), config.wheels, config.wheels_prefix)
            step.note = f"{result.transferred} uploaded, {result.failed} failed"
        except Exception as exc:
            log(f"warning: uploading wheels failed ({type(exc).__name__}: {exc}); the next fresh worker fetches them")


def pin_line(name: str, version: str, digests) -> str:
    return " ".join([f"{name}=={version}", *(f"--hash=sha256:{digest}" for digest in sorted(digests))])


def hashed_lock(
    config: Config, pins: dict[str, str], hashes: dict[str, frozenset[str]], wheels: dict[str, list[tuple[Path, str]]]
) -> Path:
    """The pins with the lock's hashes and each checked wheel's sha256 (the only hashes of a wheel built here
    or of a lock without hashes), so that ``uv pip sync --require-hashes`` checks every wheel it installs."""
    lines = []
    for name, version in pins.items():
        digests = {digest for _wheel, digest in wheels[name]} | hashes.get(name, frozenset())
        lines.append(pin_line(name, version, digests) + "\n")
    path = config.tmp / f"lock-{config.stamp}.txt"
    path.write_text("".join(lines))
    return path


def install_from_wheels(config: Config, pins: dict[str, str], hashes: dict[str, frozenset[str]], folder: Path) -> None:
    with Step("wheelhouse") as step:
        wheels = checked_wheels(config, pins, hashes)
        step.note = f"{sum(name in wheels for name in pins)} of {len(pins)} pinned wheel(s) present and hash-checked"
    if config.s3:
        restore_wheels(config, pins)
        wheels = checked_wheels(config, pins, hashes)
    missing = [pin_line(name, version, hashes.get(name, ())) for name, version in pins.items() if name not in wheels]
    if missing:
        log(f"wheelhouse: {len(missing)} of {len(pins)} wheel(s) missing; fetching them from the package index")
        fetch_wheels(config, missing, hashes)
        if config.s3:
            upload_wheels(config)
        wheels = checked_wheels(config, pins, hashes)
        still = [name for name in pins if name not in wheels]
        if still:
            raise InstallError(f"no usable wheel after the download for: {', '.join(still)}")
    else:
        log(f"wheelhouse: covers all {len(pins)} package(s); the index is not needed")
    with Step("install") as step:
        need_space(config, f"installing {len(pins)} package(s)")
        env = tool_env(config)
        run([uv(), "venv", "--quiet", "--relocatable", "--python", sys.executable, str(folder)], env, "uv venv")
        run(
            [
                uv(),
                "pip",
                "sync",
                "--quiet",
                "--python",
                str(folder / "bin" / "python"),
                "--no-index",
                "--find-links",
                str(config.wheels),
                "--require-hashes",
                "--no-build",
                "--strict",
                str(hashed_lock(config, pins, hashes, wheels)),
            ],
            env,
            "uv pip sync",
        )
        step.note = f"{len(pins)} package(s) into {folder.name}"


def install_flash_attn(config: Config, folder: Path) -> None:
    """A prebuilt flash-attn wheel from FLASH_ATTN_WHEEL_URL on CUDA machines; any failure only costs speed."""
    if not config.cuda:
        log("flash-attn: skipped (no CUDA: nvidia-smi not found and FORCE_CUDA is not 1)")
        return
    if not config.flash_url:
        log("flash-attn: skipped (FLASH_ATTN_WHEEL_URL is not set; flash-attn is never compiled at start-up)")
        return
    wheel_torch = re.search(r"torch(\d+\.\d+)", config.flash_url)
    pinned_torch = read_pins(config.lock).get("torch", "")
    if wheel_torch and pinned_torch and not pinned_torch.startswith(wheel_torch.group(1) + "."):
        log(f"flash-attn: skipped: the wheel is for torch {wheel_torch.group(1)}, the lock pins torch {pinned_torch}")
        return
    with Step("flash-attn") as step:
        command = [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(folder / "bin" / "python"),
            "--no-deps",
            "--no-build",
            config.flash_url,
        ]
        try:
            retry(config, "flash-attn", lambda: run(command, tool_env(config), "uv pip install flash-attn"))
            step.note = "installed"
        except InstallError as exc:
            log(f"warning: flash-attn: not installed ({exc}); the worker starts without it")


def verify(folder: Path, pins: dict[str, str]) -> None:
    """Every pin installed at its version, read from the stack's own metadata by its own Python."""
    code = "import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata['Name'], d.version)"
    out = subprocess.run([str(folder / "bin" / "python"), "-I", "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise InstallError(f"the new stack's Python does not run: {out.stderr.strip()[-300:]}")
    have = {canonical(name): version for name, version in (line.split(" ", 1) for line in out.stdout.splitlines())}
    wrong = [f"{name}=={version}" for name, version in pins.items() if have.get(name) != version]
    if wrong:
        raise InstallError(f"after installing, not at their pinned versions: {', '.join(wrong[:10])}")


def publish(config: Config, building: Path) -> Path:
    """Mark the verified stack complete, rename it into place, then point ``<root>/stack`` at it."""
    (building / COMPLETE).write_text(f"stamp={config.stamp}\nlock={config.lock}\npython={sys.version.split()[0]}\n")
    final = config.stacks / config.stamp
    if final.exists():  # an unfinished stack of an older installer without its marker: ours replaces it
        shutil.rmtree(final)
    os.rename(building, final)
    link = config.root / f".tmp-stack-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("stacks") / config.stamp)
    os.replace(link, config.root / "stack")
    return final


def clean_leftovers(config: Config) -> None:
    """What killed runs left behind (the caller holds the install lock, so nothing else is using it)."""
    removed = 0
    places = (("*", config.tmp), (".tmp-*", config.stacks), (".tmp-*", config.wheels), (".tmp-*", config.root))
    for pattern, base in places:
        for path in base.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log(f"removed {removed} leftover(s) of an interrupted run under {config.root}")


def forget_old_stacks(config: Config, keep: Path) -> None:
    """Stacks of other locks not started from for STACK_KEEP_DAYS (their ``.last-used`` is older) go."""
    limit = time.time() - config.keep_days * 86400
    for folder in config.stacks.iterdir():
        if folder == keep or folder.name.startswith(".") or not folder.is_dir():
            continue
        marker = folder / ".last-used"
        used = marker.stat().st_mtime if marker.exists() else folder.stat().st_mtime
        if used < limit:
            log(f"removing the stack {folder.name}: not used for {config.keep_days:g} days")
            shutil.rmtree(folder, ignore_errors=True)


def touch_used(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / ".last-used").touch()


def install(config: Config) -> Path:
    pins, hashes = read_lock(config.lock)
    done = complete_stack(config)
    if done:
        log(f"nothing to do: another worker finished the stack {done.name} while this one waited")
        return done
    for folder in (config.stacks, config.wheels, config.tmp):
        folder.mkdir(parents=True, exist_ok=True)
    clean_leftovers(config)
    need_space(config, "the install")
    log(f"stack {config.stamp}: {len(pins)} pinned package(s) from {config.lock}; S3: {'on' if config.s3 else 'off'}")
    building = config.stacks / f".tmp-{config.stamp}-{os.getpid()}"
    restored = False
    if config.s3 and config.snapshot:
        import stack_snapshot

        need_space(config, "restoring the stack snapshot")
        restored = stack_snapshot.restore(config, building)
    if not restored:
        shutil.rmtree(building, ignore_errors=True)
        install_from_wheels(config, pins, hashes, building)
        install_flash_attn(config, building)
    with Step("verify"):
        verify(building, pins)
    final = publish(config, building)
    touch_used(final)
    log(f"stack {final} is complete; {config.root / 'stack'} points to it")
    if config.s3 and config.snapshot and not restored:
        import stack_snapshot

        stack_snapshot.publish(config, final)
    forget_old_stacks(config, final)
    shutil.rmtree(config.tmp, ignore_errors=True)  # this run's temp files; under the lock, so no one else's
    return final


def snapshot(config: Config) -> None:
    """Upload the complete stack's snapshot unless the bucket has it (then only record that on the volume).

    Run in the background by a start (install-runpod-deps.sh) while the worker serves. While another worker
    uploads it (its lock renewed), waits up to INSTALL_LOCK_TIMEOUT_S for that upload to finish or its lock to
    go stale; uploads under the root's install lock, or leaves it to a later start when an install runs."""
    import fcntl

    import stack_snapshot

    folder = complete_stack(config)
    if folder is None or not (config.s3 and config.snapshot):
        return
    bucket = stack_snapshot.Snapshot.of(config)
    deadline = time.monotonic() + config.lock_timeout_s
    while bucket.read_manifest() is None and bucket.lock_is_live() and time.monotonic() < deadline:
        time.sleep(min(config.lock_stale_s / 4, 30))
    with open(config.root / "install.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("snapshot: an install holds the install lock on this root; a later start uploads the snapshot")
            return
        config.tmp.mkdir(parents=True, exist_ok=True)
        try:
            stack_snapshot.publish(config, folder)
        finally:
            shutil.rmtree(config.tmp, ignore_errors=True)  # under the lock: only this run's temp files


def main(argv: list[str]) -> int:
    if argv not in (["install"], ["snapshot"]):
        print(__doc__, file=sys.stderr)
        return 2
    log_warnings_too()
    try:
        config = Config.from_env()
        if argv == ["snapshot"]:
            snapshot(config)
            return 0
        done = install(config)
    except InstallError as exc:
        log(f"error: {exc}")
        return exc.status
    print(done)
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(HERE), str(REPO)]  # s3sync, stack_snapshot and f5worker, from any directory
    sys.exit(main(sys.argv[1:]))
