#!/usr/bin/env python
"""Copy folders between the worker's storage (S3 / Backblaze B2) and local disk, for the start scripts.

    python scripts/s3sync.py pull PREFIX DEST_DIR [--include GLOB ...] [--include-from FILE]
    python scripts/s3sync.py push SRC_DIR PREFIX

``pull`` downloads every object under PREFIX whose local copy is missing or has another size (each
file lands under a temp name and is renamed into place, so no partial file is ever visible);
``push`` uploads every local file that is missing remotely or has another size. Both print one
summary line and exit 0, or 1 when anything failed (each failure is one line on stderr).

The storage comes from the worker's own settings (``f5worker.settings.load_settings`` and
``f5worker.storage.open_storage``), so the B2-safe client configuration applies here too and the
same variables select it (CONFIG.md). Nothing printed carries credentials.

Object keys only allow ``[A-Za-z0-9_.-]`` per path segment (``f5worker.storage.layout.check_key``),
but wheel names may carry a ``+`` local version (``flash_attn-2.8.3+cu12torch2.8...whl``,
``torch-2.8.0+cu128-...whl``): any other character is stored as ``_uXXXX_`` (its code point in
hex) and turned back on pull.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # runnable as ``python scripts/s3sync.py`` from any directory
    sys.path.insert(0, str(REPO))

_SAFE_CHAR = re.compile(r"[A-Za-z0-9_.-]")
_ESCAPED = re.compile(r"_u([0-9a-f]{4,6})_")


def encode_segment(name: str) -> str:
    """One file or folder name as a key segment that ``check_key`` accepts."""
    return "".join(char if _SAFE_CHAR.fullmatch(char) else f"_u{ord(char):04x}_" for char in name)


def decode_segment(segment: str) -> str:
    return _ESCAPED.sub(lambda match: chr(int(match.group(1), 16)), segment)


def normalize_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


@dataclass
class SyncResult:
    action: str
    transferred: int = 0
    up_to_date: int = 0
    failed: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def fail(self, message: str) -> None:
        self.failed += 1
        self.errors.append(message)
        print(f"s3sync {self.action}: {message}", file=sys.stderr)

    def summary(self, where: str, seconds: float) -> str:
        verb = "downloaded" if self.action == "pull" else "uploaded"
        return (
            f"s3sync {self.action}: {self.transferred} {verb} ({self.bytes / 1e6:.1f} MB), "
            f"{self.up_to_date} up to date, {self.failed} failed; {where} in {seconds:.1f}s"
        )


def remote_sizes(storage, prefix: str) -> dict[str, int]:
    """Every key under ``prefix`` with its size: one listing on S3, never one request per object."""
    from f5worker.storage.s3 import S3Storage, s3_errors

    if isinstance(storage, S3Storage):
        sizes: dict[str, int] = {}
        with s3_errors("ListObjectsV2", prefix or "/"):
            pages = storage.client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket, Prefix=prefix)
            for page in pages:
                sizes.update({item["Key"]: int(item["Size"]) for item in page.get("Contents", [])})
        return sizes
    return {key: storage.size(key) for key in storage.list_keys(prefix)}


def _wanted(name: str, include: list[str] | None) -> bool:
    return not include or any(fnmatch.fnmatchcase(name.lower(), pattern.lower()) for pattern in include)


def pull(storage, prefix: str, dest: Path, include: list[str] | None = None) -> SyncResult:
    """Download objects under ``prefix`` into ``dest`` when the local copy is missing or differs in size.

    ``include``: file-name globs (case-insensitive); when given, other objects are left alone.
    """
    from f5worker.errors import WorkerError

    result = SyncResult("pull")
    prefix = normalize_prefix(prefix)
    dest = Path(dest)
    for key, size in sorted(remote_sizes(storage, prefix).items()):
        relative = key[len(prefix) :]
        if not relative or relative.endswith("/"):
            continue  # folder markers some tools create
        parts = [decode_segment(segment) for segment in relative.split("/")]
        if any(part in ("", ".", "..") or "/" in part or "\0" in part for part in parts):
            result.fail(f"{key}: refusing a key that would leave {dest}")
            continue
        if parts[-1].startswith(".") or not _wanted(parts[-1], include):
            continue
        local = dest.joinpath(*parts)
        if local.is_file() and local.stat().st_size == size:
            result.up_to_date += 1
            continue
        try:
            storage.download_file(key, local)  # temp name beside the file, then rename
        except (WorkerError, OSError) as exc:
            result.fail(f"{key}: {exc}")
            continue
        result.transferred += 1
        result.bytes += size
    return result


def local_files(src: Path) -> list[Path]:
    """Files under ``src``, skipping hidden and temporary names (``.tmp-*`` of an unfinished copy)."""
    return sorted(
        path
        for path in src.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(src).parts)
    )


def push(storage, src: Path, prefix: str) -> SyncResult:
    """Upload files of ``src`` that are missing under ``prefix`` or differ in size."""
    from f5worker.errors import WorkerError

    result = SyncResult("push")
    prefix = normalize_prefix(prefix)
    src = Path(src)
    remote = remote_sizes(storage, prefix)
    for path in local_files(src):
        key = prefix + "/".join(encode_segment(part) for part in path.relative_to(src).parts)
        size = path.stat().st_size
        if remote.get(key) == size:
            result.up_to_date += 1
            continue
        try:
            storage.put_file(key, path)
        except (WorkerError, OSError, ValueError) as exc:
            result.fail(f"{path.name}: {exc}")
            continue
        result.transferred += 1
        result.bytes += size
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s3sync.py",
        description="Copy folders between the worker's storage (S3/B2, or STORAGE_DIR) and local disk.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pull_parser = commands.add_parser("pull", help="download objects under PREFIX that are missing or differ")
    pull_parser.add_argument("prefix", metavar="PREFIX")
    pull_parser.add_argument("dest", metavar="DEST_DIR", type=Path)
    pull_parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="only file names matching this glob (repeatable, case-insensitive)",
    )
    pull_parser.add_argument("--include-from", type=Path, metavar="FILE", help="file of globs, one per line")
    push_parser = commands.add_parser("push", help="upload files of SRC_DIR that are missing or differ")
    push_parser.add_argument("src", metavar="SRC_DIR", type=Path)
    push_parser.add_argument("prefix", metavar="PREFIX")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    try:
        from f5worker.errors import ConfigError, WorkerError
        from f5worker.settings import load_settings
        from f5worker.storage import open_storage
    except ImportError as exc:  # boto3/pydantic missing from this interpreter
        print(f"s3sync {args.command}: cannot import the worker's storage code: {exc}", file=sys.stderr)
        return 1
    try:
        storage = open_storage(load_settings())
        where = f"{storage.backend} {getattr(storage, 'bucket', '') or getattr(storage, 'root', '')}".strip()
        if args.command == "pull":
            include = list(args.include)
            if args.include_from:
                include += [line.strip() for line in args.include_from.read_text().splitlines() if line.strip()]
            if args.include_from and not include:
                print(f"s3sync pull: nothing to do (empty include list); {where}")
                return 0
            result = pull(storage, args.prefix, args.dest, include or None)
            where = f"{where}:{normalize_prefix(args.prefix)} -> {args.dest}"
        else:
            if not args.src.is_dir():
                print(f"s3sync push: {args.src} is not a directory", file=sys.stderr)
                return 1
            result = push(storage, args.src, args.prefix)
            where = f"{args.src} -> {where}:{normalize_prefix(args.prefix)}"
    except (ConfigError, WorkerError, OSError) as exc:
        print(f"s3sync {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    print(result.summary(where, time.monotonic() - started))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
