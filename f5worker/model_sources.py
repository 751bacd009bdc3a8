"""Which models the worker caches in the bucket, and where each comes from when the bucket lacks it.

A :class:`ModelSpec` is a name (its folder under ``models/`` in the bucket and under ``MODEL_CACHE_DIR``)
and a fetcher that fills an empty folder from the public source. :func:`configured_specs` is the list
the settings ask for: add a model there (with one of the fetchers below) and the model cache restores
it on every start, fetching and uploading it once.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .settings import Settings

log = logging.getLogger(__name__)


class ModelCacheError(Exception):
    pass


@dataclass(frozen=True)
class ModelSpec:
    name: str  # folder under models/ and under MODEL_CACHE_DIR, e.g. "f5-tts/F5TTS_v1_Base"
    fetch: Callable[[Path], None]  # fills an empty folder with the model's files from its public source


def configured_specs(settings: Settings) -> list[ModelSpec]:
    """The models the worker would otherwise fetch from the public hub at warm-load."""
    from .engines.model_files import HUB_CHECKPOINTS, VOCOS_FILES, VOCOS_REPO, hub_repo_file

    specs = []
    if settings.tts_enabled and not settings.f5_ckpt_file and settings.f5_model in HUB_CHECKPOINTS:
        repo, checkpoint = hub_repo_file(HUB_CHECKPOINTS[settings.f5_model])
        vocab = f"{checkpoint.rsplit('/', 1)[0]}/vocab.txt"
        specs.append(ModelSpec(f"f5-tts/{settings.f5_model}", hub_files(repo, [checkpoint, vocab])))
    if settings.tts_enabled and not settings.f5_vocoder_path:
        specs.append(ModelSpec("vocos", hub_files(VOCOS_REPO, list(VOCOS_FILES))))
    if "whisperx" in settings.timing_engines and not Path(settings.whisper_model).is_dir():
        specs.append(ModelSpec(f"whisper/{settings.whisper_model}", whisper_files(settings.whisper_model)))
    if "whisperx" in settings.timing_engines:  # issue 25: WhisperX's wav2vec2 alignment models (ALIGN_MODEL)
        specs += align_specs(settings)
    return specs


def align_specs(settings: Settings) -> list[ModelSpec]:
    """Hub alignment models (``owner/name``) under ``align/<owner>/<name>``; local folders and torchaudio
    pipeline names (no ``/``: torchaudio downloads those itself) are not cached."""
    from .engines.model_files import ALIGN_CACHE, align_model_files

    def fetch(repo: str) -> Callable[[Path], None]:
        return lambda dest: hub_files(repo, align_model_files(repo))(dest)

    models = {model for model in settings.align_models.values() if "/" in model and not Path(model).is_dir()}
    return [ModelSpec(f"{ALIGN_CACHE}/{model}", fetch(model)) for model in sorted(models)]


def copy_folder(source: Path) -> Callable[[Path], None]:
    """A local folder as a model's source (``--model NAME=DIR``: publish models you already have)."""

    def fetch(dest: Path) -> None:
        if not source.is_dir():
            raise ModelCacheError(f"{source} is not a directory")
        shutil.copytree(source, dest, dirs_exist_ok=True)

    return fetch


def check_hub_etag(path: Path, label: str) -> None:
    """The hub names each blob in its cache by the file's ETag: a sha256 for LFS files, else a git blob sha1.

    huggingface_hub checks only the size of what it downloads; a wrong body of the right size (or a mirror
    serving other bytes) would otherwise reach the bucket and every later worker.
    """
    blob = path.resolve()
    etag = blob.name
    data_hash = hashlib.sha256() if len(etag) == 64 else hashlib.sha1(b"blob %d\0" % blob.stat().st_size)
    with open(blob, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            data_hash.update(block)
    if len(etag) in (40, 64) and data_hash.hexdigest() != etag:
        raise ModelCacheError(f"{label}: the downloaded bytes do not match the hub's ETag {etag}")


def resuming_once(download: Callable[[], str]) -> str:
    """Call a hub download again once after a body cut short or a dropped connection.

    huggingface_hub 0.36 resumes by itself (a ranged GET) only after a connection error or read timeout
    while streaming, not after a body shorter than its Content-Length, which it raises at once.
    """
    import requests

    try:
        return download()
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
        log.warning("hub download interrupted (%s); resuming once", type(exc).__name__)
        return download()


def hub_files(repo: str, filenames: list[str]) -> Callable[[Path], None]:
    """Named files of one hub repository (``HF_ENDPOINT``, ``HF_TOKEN`` honoured), checked against their ETags.

    Downloads go to a private hub cache inside the staging folder, so a failed or wrong download never
    lands in a shared cache where a later start would find it.
    """

    def fetch(dest: Path) -> None:
        from huggingface_hub import constants, hf_hub_download

        with tempfile.TemporaryDirectory(prefix=".hub-", dir=dest) as hub_cache:
            for filename in filenames:
                try:
                    path = Path(resuming_once(lambda name=filename: hf_hub_download(repo, name, cache_dir=hub_cache)))
                except (OSError, ValueError) as exc:  # huggingface_hub's errors are OSErrors (requests')
                    raise ModelCacheError(f"fetching {repo}/{filename} from {constants.ENDPOINT}") from exc
                check_hub_etag(path, f"{repo}/{filename}")
                shutil.move(path.resolve(), dest / Path(filename).name)

    return fetch


def whisper_files(name: str) -> Callable[[Path], None]:
    """faster-whisper's own download (``Systran/faster-whisper-<name>``), each file checked against its ETag."""

    def fetch(dest: Path) -> None:
        from faster_whisper import download_model
        from huggingface_hub import constants

        with tempfile.TemporaryDirectory(prefix=".hub-", dir=dest) as hub_cache:
            try:
                snapshot = Path(resuming_once(lambda: download_model(name, cache_dir=hub_cache)))
            except (OSError, ValueError) as exc:
                raise ModelCacheError(f"fetching whisper {name} from {constants.ENDPOINT}") from exc
            for path in sorted(snapshot.iterdir()):
                check_hub_etag(path, f"whisper {name}/{path.name}")
                shutil.move(path.resolve(), dest / path.name)

    return fetch
