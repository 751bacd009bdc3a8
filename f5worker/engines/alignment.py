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
    def __init__(
        self,
        models: dict[str, tuple[object, dict]],
        names: dict[str, str],
        device: str,
        splitter: str,
        errors: dict[str, str] | None = None,
    ):
        self.models = models
        self.names = names  # the configured model per loaded language (as ALIGN_MODEL names it)
        self.device = device
        self.splitter = splitter
        self.errors = dict(errors or {})  # language -> why it has no alignment model

    @classmethod
    def load(
        cls,
        sources: dict[str, str],
        device: str,
        nltk_data: str | None,
        names: dict[str, str] | None = None,
    ) -> Aligner:
        """One wav2vec2 model per language; a language whose model fails to load is left out, with why."""
        import whisperx

        splitter = ensure_sentence_splitter(nltk_data)
        models, loaded_names, failures = {}, {}, {}
        for language, source in sources.items():
            try:
                models[language] = whisperx.load_align_model(
                    language_code=language, device=device, model_name=source, model_cache_only=Path(source).is_dir()
                )
            except Exception as exc:  # one language's model must not cost the others (or Whisper) theirs
                log.exception("alignment model for %s (%s) failed to load", language, source)
                failures[language] = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
                continue
            loaded_names[language] = (names or {}).get(language, source)
            log.info("alignment model for %s: %s", language, source)
        return cls(models, loaded_names, device, splitter, failures)

    def supports(self, language: str | None) -> bool:
        return (language or "") in self.models

    def align(self, segments: list[dict], audio: np.ndarray, language: str) -> list[dict]:
        """Word dicts (word, start?, end?, score?) for the given segments; untimed words lack start/end."""
        import whisperx

        model, metadata = self.models[language]
        result = whisperx.align(segments, model, metadata, audio, self.device, return_char_alignments=False)
        return [dict(word) for word in result.get("word_segments", [])]
