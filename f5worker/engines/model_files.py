"""Where F5-TTS's files come from: an explicit path, else the restored model cache, else the public hub.

The hub is reached only here, at warm-load, and is logged; never at request time.
Cache layout (under ``MODEL_CACHE_DIR``, mirrored from ``models/`` in storage):
``f5-tts/<F5_MODEL>/model*.safetensors|pt`` (+ ``vocab.txt``) and ``vocos/{config.yaml,pytorch_model.bin}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..settings import Settings

log = logging.getLogger(__name__)

HUB_CHECKPOINTS = {
    "F5TTS_v1_Base": "hf://SWivid/F5-TTS/F5TTS_v1_Base/model_1250000.safetensors",
    "F5TTS_Base": "hf://SWivid/F5-TTS/F5TTS_Base/model_1200000.safetensors",
}
VOCOS_REPO = "charactr/vocos-mel-24khz"
VOCOS_FILES = ("config.yaml", "pytorch_model.bin")


def hub_repo_file(url: str) -> tuple[str, str]:
    """``hf://owner/name/path/in/repo`` -> (``owner/name``, ``path/in/repo``)."""
    owner, name, path = url.removeprefix("hf://").split("/", 2)
    return f"{owner}/{name}", path


@dataclass(frozen=True)
class F5Files:
    ckpt_file: str
    vocab_file: str  # "" means f5-tts's packaged vocab
    vocoder_path: str
    model_config: str | None
    sources: dict[str, str]


def public_name(name: str) -> str:
    """A model as callers see it (``health``, outputs): a hub name as given, a local file or folder by
    its last part only, since where models sit on the worker's disk is none of the caller's business."""
    path = Path(name)
    return path.name if path.is_absolute() or (len(path.parts) > 1 and path.exists()) else name


def cached_checkpoint(settings: Settings) -> Path | None:
    folder = settings.model_cache_dir / "f5-tts" / settings.f5_model
    found = sorted(folder.glob("model*.safetensors")) + sorted(folder.glob("model*.pt"))
    return found[0] if found else None


def resolve_f5_files(settings: Settings) -> F5Files:
    sources: dict[str, str] = {}
    if settings.f5_ckpt_file:
        ckpt, sources["ckpt"] = settings.f5_ckpt_file, "F5_CKPT_FILE"
    elif cached := cached_checkpoint(settings):
        ckpt, sources["ckpt"] = cached, "model cache"
    else:
        ckpt, sources["ckpt"] = fetch_hub_checkpoint(settings.f5_model), "public hub"

    cached_vocab = settings.model_cache_dir / "f5-tts" / settings.f5_model / "vocab.txt"
    if settings.f5_vocab_file:
        vocab, sources["vocab"] = str(settings.f5_vocab_file), "F5_VOCAB_FILE"
    elif cached_vocab.is_file():
        vocab, sources["vocab"] = str(cached_vocab), "model cache"
    elif sources["ckpt"] == "public hub":  # the vocabulary published next to that checkpoint
        vocab, sources["vocab"] = str(fetch_hub_vocab(settings.f5_model)), "public hub"
    else:
        vocab, sources["vocab"] = "", "f5-tts package"

    cached_vocos = settings.model_cache_dir / "vocos"
    if settings.f5_vocoder_path:
        vocoder, sources["vocoder"] = settings.f5_vocoder_path, "F5_VOCODER_PATH"
    elif all((cached_vocos / name).is_file() for name in VOCOS_FILES):
        vocoder, sources["vocoder"] = cached_vocos, "model cache"
    else:
        vocoder, sources["vocoder"] = fetch_hub_vocoder(), "public hub"
    config = str(settings.f5_model_config) if settings.f5_model_config else None
    return F5Files(str(ckpt), vocab, str(vocoder), config, sources)


def fetch_hub_checkpoint(model: str) -> Path:
    if model not in HUB_CHECKPOINTS:
        raise ValueError(f"no public checkpoint known for F5_MODEL={model}; set F5_CKPT_FILE")
    from cached_path import cached_path

    log.info("F5-TTS checkpoint not in the model cache: fetching %s (start-up only)", HUB_CHECKPOINTS[model])
    return Path(cached_path(HUB_CHECKPOINTS[model]))


def fetch_hub_vocab(model: str) -> Path:
    from huggingface_hub import hf_hub_download

    repo, checkpoint = hub_repo_file(HUB_CHECKPOINTS[model])
    return Path(hf_hub_download(repo, f"{checkpoint.rsplit('/', 1)[0]}/vocab.txt"))


def fetch_hub_vocoder() -> Path:
    from huggingface_hub import snapshot_download

    log.info("Vocos not in the model cache: fetching %s (start-up only)", VOCOS_REPO)
    return Path(snapshot_download(VOCOS_REPO, allow_patterns=list(VOCOS_FILES)))


# --------------------------------------------------------------------------- wav2vec2 alignment models (ALIGN_MODEL)

ALIGN_CACHE = "align"  # MODEL_CACHE_DIR/align/<hub name>/, mirrored from models/align/<hub name>/ in storage
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # the first the repository has is fetched


def cached_align_model(settings: Settings, model: str) -> Path | None:
    """The model cache's copy of a hub alignment model (a transformers folder), or None."""
    folder = settings.model_cache_dir / ALIGN_CACHE / model
    return folder if (folder / "config.json").is_file() else None


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it: then no alignment model is fetched at start-up."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def resolve_align_models(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """({language: what to load}, {language: why not}) for ``ALIGN_MODEL``: a local folder as given,
    else the model cache's copy, else the name itself (fetched from the hub at warm-load, logged),
    unless the hub is off: then that language has no alignment model and the reason says so."""
    sources: dict[str, str] = {}
    missing: dict[str, str] = {}
    for language, model in settings.align_models.items():
        if Path(model).is_dir():
            sources[language] = model
        elif cached := cached_align_model(settings, model):
            sources[language] = str(cached)
        elif hub_offline():
            missing[language] = "not in the model cache (run model_cache_init.py) and HF_HUB_OFFLINE is set"
        else:
            log.info(
                "alignment model %s not in the model cache: fetching it from its public source (start-up only)", model
            )
            sources[language] = model
    return sources, missing


def align_model_files(repo: str) -> list[str]:
    """What the model cache fetches of a hub alignment model: its json/txt files and one weights file."""
    from huggingface_hub import HfApi

    files = [sibling.rfilename for sibling in HfApi().model_info(repo, revision="main").siblings or []]
    weights = next((name for name in WEIGHT_FILES if name in files), None)
    if weights is None:
        raise ValueError(f"{repo} has none of {', '.join(WEIGHT_FILES)}")
    return [name for name in files if "/" not in name and name.endswith((".json", ".txt"))] + [weights]
