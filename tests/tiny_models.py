"""Session fixture: tiny random models in the real formats, built by scripts/make-tiny-models.py.

A plain fixture module so any conftest or test file can import it:
``from tests.tiny_models import tiny_models  # noqa: F401``.
"""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make-tiny-models.py"


def load_builder():
    """The script as a module (its file name has dashes, so it cannot be imported by name)."""
    spec = importlib.util.spec_from_file_location("make_tiny_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_env(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (values shell-quoted where needed), as written to tiny.env."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = " ".join(shlex.split(value))
    return values


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    """tiny.env's settings (F5_CKPT_FILE, F5_VOCAB_FILE, F5_VOCODER_PATH, F5_MODEL_CONFIG, ...)."""
    out = tmp_path_factory.mktemp("tiny-models")
    load_builder().build(out, seed=0, check=False)
    return read_env(out / "tiny.env")


@pytest.fixture
def tiny_f5_dir(tiny_models) -> Path:
    """The tiny F5-TTS checkpoint's folder (checkpoint, vocab, config): a model folder to cache."""
    return Path(tiny_models["F5_CKPT_FILE"]).parent
