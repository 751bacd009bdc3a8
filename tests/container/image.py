"""Dockerfile.runpod built and started without Docker: a debootstrapped Debian root, the file's own steps.

Docker cannot run here, so the image is made the way its layers would be:

1. ``base``: ``debootstrap --variant=minbase bookworm`` plus what ``python:3.11-slim-bookworm`` adds on top
   of Debian (a Python 3.11 with pip as ``python``/``pip``, CA certificates, netbase, tzdata). The official
   image builds CPython 3.11.x from source into /usr/local; here it is Debian's python3 (3.11.2) with
   its PEP 668 marker removed, which is the one difference the test cannot hide (see docs/notes/start-up-and-stack.md).
2. ``image``: the Dockerfile's ``ARG``/``ENV``/``WORKDIR``/``COPY``/``RUN`` steps up to its last ``RUN``,
   parsed from the file and run in the root with ``chroot`` (inside ``unshare -m``, so the mounts of
   /proc and /dev vanish with the command).
3. Each container start: an overlay on the cached image (a fresh container disk), the steps after the
   last ``RUN`` (the worker's source) copied into its upper layer, the volume bound at /runpod-volume,
   then ``CMD`` with the final environment.

Both cached roots live outside the repo (``CONTAINER_CACHE_DIR``, default /var/tmp/f5worker-container),
keyed by the hashes of what built them, so a changed Dockerfile or lock rebuilds them. Needs root,
debootstrap, unshare and the network to Debian and PyPI (the build's own needs).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile.runpod"
CACHE = Path(os.environ.get("CONTAINER_CACHE_DIR", "/var/tmp/f5worker-container"))
SUITE = "bookworm"
# What python:3.11-slim-bookworm installs on top of Debian, and its environment.
BASE_PACKAGES = ("python3", "python3-pip", "ca-certificates", "netbase", "tzdata")
BASE_ENV = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
BASE_RECIPE = "v1 python3 as /usr/local/bin/python, no EXTERNALLY-MANAGED"  # change to rebuild the base
# Only because this machine reaches registries through a TLS-inspecting egress (PLATFORM-NOTES.md):
# its CA goes into the root's store and these point pip, uv and requests at that store.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TLS_ENV = {"SSL_CERT_FILE": CA_BUNDLE, "PIP_CERT": CA_BUNDLE, "REQUESTS_CA_BUNDLE": CA_BUNDLE}


def missing_tools() -> list[str]:
    """Why the container test cannot run here ([] when it can)."""
    problems = [f"{tool} not found" for tool in ("debootstrap", "unshare", "chroot", "mount") if not shutil.which(tool)]
    if os.geteuid() != 0:
        problems.append("needs root (chroot, mount)")
    return problems


def debian_mirror() -> str:
    """The Debian mirror of this machine's apt sources (deb822 or one-line format)."""
    texts = [path.read_text() for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources"))]
    if Path("/etc/apt/sources.list").is_file():
        texts.append(Path("/etc/apt/sources.list").read_text())
    for text in texts:
        for uri in re.findall(r"(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return "http://deb.debian.org/debian"


# --- the Dockerfile ---


@dataclass
class Step:
    kind: str  # ARG ENV WORKDIR COPY RUN CMD ...
    text: str


def parse_dockerfile(path: Path = DOCKERFILE) -> list[Step]:
    """Instructions with continuation lines joined and comments dropped."""
    steps, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        kind, _, rest = full.partition(" ")
        steps.append(Step(kind.upper(), rest.strip()))
    return steps


def substitute(text: str, env: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` as Docker expands them in ENV, WORKDIR and COPY."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), text)


def env_pairs(text: str, env: dict[str, str]) -> dict[str, str]:
    pairs = {}
    for word in shlex.split(text):
        name, _, value = word.partition("=")
        pairs[name] = substitute(value, {**env, **pairs})
    return pairs


@dataclass
class Build:
    """The state a Dockerfile walk carries: environment, build arguments, working directory."""

    env: dict[str, str] = field(default_factory=lambda: dict(BASE_ENV))
    args: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    cmd: list[str] = field(default_factory=list)

    def apply(self, step: Step) -> None:
        """ARG, ENV, WORKDIR and CMD change the state; COPY and RUN are done by the caller."""
        if step.kind == "ARG":
            name, _, default = step.text.partition("=")
            self.args[name] = default
        elif step.kind == "ENV":
            self.env.update(env_pairs(step.text, {**self.args, **self.env}))
        elif step.kind == "WORKDIR":
            self.workdir = os.path.join(self.workdir, substitute(step.text, {**self.args, **self.env}))
        elif step.kind == "CMD":
            self.cmd = json.loads(step.text)

    def copy_pairs(self, step: Step) -> list[tuple[Path, str]]:
        """(source in the repo, destination in the root) of one COPY step."""
        *sources, dest = shlex.split(substitute(step.text, {**self.args, **self.env}))
        dest = os.path.normpath(os.path.join(self.workdir, dest)) + ("/" if dest.endswith("/") else "")
        into = dest.endswith("/") or len(sources) > 1
        return [(REPO / source, f"{dest.rstrip('/')}/{Path(source).name}" if into else dest) for source in sources]


def ignored(relative: str) -> bool:
    """.dockerignore's patterns (what the build context leaves out): ``**/x`` at any depth, others from the top."""
    ignore = REPO / ".dockerignore"
    patterns = [line.strip() for line in ignore.read_text().splitlines()] if ignore.is_file() else []
    parts = relative.split("/")
    for pattern in filter(lambda p: p and not p.startswith("#"), patterns):
        if pattern.startswith("**/"):
            if any(fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch("/".join(parts[:depth]), pattern) for depth in range(1, len(parts) + 1)):
            return True
    return False


def copy_into(root: Path, source: Path, target: str) -> None:
    dest = root / target.lstrip("/")
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(REPO).as_posix()
            if ignored(relative) or path.is_dir():
                continue
            out = dest / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def content_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if not ignored(file.relative_to(REPO).as_posix()):
                digest.update(file.relative_to(REPO).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


# --- running things in a root ---


def chroot(
    root: Path,
    command: list[str],
    env: dict[str, str],
    workdir: str = "/",
    binds: dict[Path, str] | None = None,
    overlay: tuple[Path, Path] | None = None,
    **popen,
) -> subprocess.Popen:
    """Start ``command`` in ``root`` (or an overlay of it: (upper, work)) with exactly ``env``.

    The mounts (overlay, /proc, /dev, binds) live in a private mount namespace and vanish with it."""
    lines = ["set -e"]
    target = root
    if overlay:
        upper, work = overlay
        target = upper.parent / "merged"
        target.mkdir(exist_ok=True)
        lines.append(f"mount -t overlay overlay -o lowerdir={root},upperdir={upper},workdir={work} {target}")
    lines += [f"mount -t proc proc {target}/proc", f"mount --rbind /dev {target}/dev"]
    for host, inside in (binds or {}).items():
        lines.append(f"mkdir -p {target}{inside} && mount --bind {shlex.quote(str(host))} {target}{inside}")
    assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    inner = f"cd {shlex.quote(workdir)} && exec " + " ".join(shlex.quote(part) for part in command)
    lines.append(f"exec chroot {target} /usr/bin/env -i {assignments} /bin/sh -c {shlex.quote(inner)}")
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(lines)], **popen)


def run_in(root: Path, script: str, env: dict[str, str], workdir: str = "/", timeout: float = 1200) -> None:
    process = chroot(
        root, ["/bin/sh", "-c", script], env, workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"in the root, {script!r} exited with {process.returncode}:\n{out[-6000:]}")


# --- the cached roots ---


@contextmanager
def cache_lock() -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_base(key: str) -> Path:
    final = CACHE / f"base-{key}"
    if final.is_dir():
        return final
    tmp = CACHE / f".tmp-base-{key}"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(tmp), debian_mirror()],
        check=True,
        capture_output=True,
        timeout=1800,
    )
    shutil.copyfile("/etc/resolv.conf", tmp / "etc" / "resolv.conf")
    for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copyfile(crt, tmp / "usr/local/share/ca-certificates" / crt.name)
    run_in(
        tmp,
        "update-ca-certificates >/dev/null && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED"
        " && ln -sf /usr/bin/python3 /usr/local/bin/python && ln -sf /usr/bin/python3 /usr/local/bin/python3"
        " && ln -sf /usr/bin/pip3 /usr/local/bin/pip && apt-get clean",
        BASE_ENV,
    )
    os.rename(tmp, final)
    return final


@dataclass
class Image:
    """A built image root plus what starting a container needs from the rest of the Dockerfile."""

    root: Path
    build: Build
    late_copies: list[tuple[Path, str]]
    seconds: float = 0.0

    @contextmanager
    def container_disk(self) -> Iterator[tuple[Path, Path]]:
        """A fresh container disk: an empty overlay upper layer holding the late COPY steps."""
        with tempfile.TemporaryDirectory(prefix="container-", dir=CACHE) as tmp:
            upper, work = Path(tmp) / "upper", Path(tmp) / "work"
            work.mkdir()
            upper.mkdir()
            for source, target in self.late_copies:
                copy_into(upper, source, target)
            yield upper, work

    def start(
        self,
        volume: Path,
        env: dict[str, str],
        args: list[str],
        overlay: tuple[Path, Path],
        extra_files: dict[str, Path] | None = None,
        **popen,
    ) -> subprocess.Popen:
        """CMD + ``args`` as a new container on ``overlay`` with the volume bound at /runpod-volume."""
        upper = overlay[0]
        for inside, host in (extra_files or {}).items():
            (upper / inside.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(host, upper / inside.lstrip("/"))
        full_env = {**self.build.env, **TLS_ENV, **env}
        return chroot(
            self.root,
            [*self.build.cmd, *args],
            full_env,
            self.build.workdir,
            binds={volume: "/runpod-volume"},
            overlay=overlay,
            **popen,
        )


def build_image() -> Image:
    """The image root for the current Dockerfile (built once, then cached under CONTAINER_CACHE_DIR)."""
    import time

    started = time.monotonic()
    steps = parse_dockerfile()
    last_run = max(index for index, step in enumerate(steps) if step.kind == "RUN")
    walk = Build()
    early_sources: list[Path] = []
    for step in steps[: last_run + 1]:
        walk.apply(step)
        if step.kind == "COPY":
            early_sources += [source for source, _ in walk.copy_pairs(step)]
    base_key = hashlib.sha256(f"{BASE_RECIPE} {SUITE} {BASE_PACKAGES}".encode()).hexdigest()[:16]
    early = "\n".join(f"{s.kind} {s.text}" for s in steps[: last_run + 1])
    image_key = hashlib.sha256(f"{base_key}\n{early}\n{content_hash(early_sources)}".encode()).hexdigest()[:16]
    with cache_lock():
        base = build_base(base_key)
        root = CACHE / f"image-{image_key}"
        if not root.is_dir():
            for old in CACHE.glob("image-*"):
                shutil.rmtree(old, ignore_errors=True)
            tmp = CACHE / f".tmp-image-{image_key}"
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(tmp)], check=True)
            state = Build()
            for step in steps[: last_run + 1]:
                state.apply(step)
                if step.kind == "COPY":
                    for source, target in state.copy_pairs(step):
                        copy_into(tmp, source, target)
                elif step.kind == "WORKDIR":
                    (tmp / state.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
                elif step.kind == "RUN":
                    run_in(tmp, step.text, {**state.args, **state.env, **TLS_ENV}, state.workdir)
            os.rename(tmp, root)
    final = Build()
    late: list[tuple[Path, str]] = []
    for index, step in enumerate(steps):
        final.apply(step)
        if step.kind == "COPY" and index > last_run:
            late += final.copy_pairs(step)
    return Image(root, final, late, time.monotonic() - started)
