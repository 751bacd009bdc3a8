#!/usr/bin/env python
"""Model cache in the bucket: restore models to local disk before the handler warm-loads them.

The start script's step before the handler (scripts/startup-runpod.sh). What it does and why:
f5worker/model_cache.py; which models: f5worker/model_sources.py. Prints one summary line per model
and exits 1 when any failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from f5worker.errors import ConfigError, StorageError
from f5worker.model_cache import prepare_models
from f5worker.model_sources import ModelSpec, copy_folder
from f5worker.settings import load_settings

log = logging.getLogger("model_cache_init")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, help="local model directory (default: MODEL_CACHE_DIR)")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also cache a local model folder under models/NAME (repeatable)",
    )
    parser.add_argument("--only-extra", action="store_true", help="skip the models the settings configure")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    extra = []
    for item in args.model:
        name, sep, folder = item.partition("=")
        if not sep or not name:
            parser.error(f"--model wants NAME=DIR, got {item!r}")
        extra.append(ModelSpec(name, copy_folder(Path(folder))))
    try:
        settings = load_settings()
        if args.dest:
            settings = settings.model_copy(update={"model_cache_dir": args.dest})
        reports = prepare_models(settings, extra, configured=not args.only_extra)
    except (ConfigError, StorageError) as exc:
        log.error("model cache failed: %s", exc)
        return 1
    for report in reports:
        print(report.line(), flush=True)
    return 1 if any(report.action == "failed" for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
