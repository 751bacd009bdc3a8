"""whisperx's wav2vec2 forced alignment: sharper word boundaries than Whisper's own.

Imported only when ``ALIGN_MODEL`` names a model: importing whisperx costs about 30 s of start-up.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
_original_loader = None  # whisperx's own punkt loader, kept to undo the fallback


def ensure_sentence_splitter(nltk_data: str | None) -> str:
    """whisperx.align loads nltk's punkt_tab and downloads it when missing: never at request time here.

    With no punkt data on disk, an untrained Punkt splitter is used instead; it only changes how
    text is cut into sentences before alignment, not the word times.
    """
    import nltk
    import whisperx.alignment

    global _original_loader
    if _original_loader is None:
        _original_loader = whisperx.alignment.nltk_load
    if nltk_data and nltk_data not in nltk.data.path:
        nltk.data.path.insert(0, nltk_data)
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        log.warning("nltk punkt_tab not found (set NLTK_DATA); using an untrained sentence splitter, no download")
        whisperx.alignment.nltk_load = lambda *_args, **_kwargs: nltk.tokenize.punkt.PunktSentenceTokenizer()
        return "untrained-punkt"
    whisperx.alignment.nltk_load = _original_loader  # undo an earlier fallback now that the data is here
    return "punkt_tab"


class Aligner:
    def __init__(self, models: dict[str, tuple[object, dict]], names: dict[str, str], device: str, splitter: str):
        self.models = models
        self.names = names
        self.device = device
        self.splitter = splitter

    @classmethod
    def load(cls, align_models: dict[str, str], device: str, nltk_data: str | None) -> Aligner:
        import whisperx

        splitter = ensure_sentence_splitter(nltk_data)
        models = {}
        for language, name in align_models.items():
            local = Path(name).is_dir()
            models[language] = whisperx.load_align_model(
                language_code=language, device=device, model_name=name, model_cache_only=local
            )
            log.info("alignment model for %s: %s", language, name)
        return cls(models, dict(align_models), device, splitter)

    def supports(self, language: str | None) -> bool:
        return (language or "") in self.models

    def align(self, segments: list[dict], audio: np.ndarray, language: str) -> list[dict]:
        """Word dicts (word, start?, end?, score?) for the given segments; untimed words lack start/end."""
        import whisperx

        model, metadata = self.models[language]
        result = whisperx.align(segments, model, metadata, audio, self.device, return_char_alignments=False)
        return [dict(word) for word in result.get("word_segments", [])]
