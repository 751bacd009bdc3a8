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
