#!/usr/bin/env python
"""Restore the model cache (``models/`` in storage) to local disk before the handler warm-loads.

Cold workers then read weights from the bucket instead of the internet. This first version copies
every object under ``models/`` whose local copy is missing or has another size; manifests with
sha256, upload-on-miss and locking come with the container issue (see TASKS.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from f5worker.errors import ConfigError, WorkerError
from f5worker.settings import load_settings
from f5worker.storage import Storage, open_storage

log = logging.getLogger("model_cache_init")


def restore_models(storage: Storage, dest: Path, prefix: str = "models/") -> list[str]:
    """Copy stored model files into ``dest`` (atomically, one file at a time); return the restored keys."""
    restored = []
    for key in storage.list_keys(prefix):
        local = dest / key.removeprefix(prefix)
        if local.is_file() and local.stat().st_size == storage.size(key):
            continue
        storage.download_file(key, local)
        restored.append(key)
    return restored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, help="local model directory (default: MODEL_CACHE_DIR)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        dest = args.dest or settings.model_cache_dir
        restored = restore_models(open_storage(settings), dest)
    except (ConfigError, WorkerError) as exc:
        log.error("model cache restore failed: %s", exc)
        return 1
    log.info("model cache: %d file(s) restored into %s", len(restored), dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
