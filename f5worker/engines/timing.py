"""The timing engine as the endpoints see it: pick an engine (or fall back), optionally against known text."""

from __future__ import annotations

import logging
import re
import time

import numpy as np

from ..errors import EngineUnavailable
from .known_text import align_known_text
from .transcript import EngineFailure, Transcript, segments_by_sentence

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000
TIMING_ENGINES = ("whisperx", "google")


def run_timing(engines, audio: np.ndarray, *, choice: str, language: str | None, known_text: str | None) -> Transcript:
    """``auto`` tries WhisperX, then Google; a named engine runs alone. None able: ``engine_unavailable``."""
    names = TIMING_ENGINES if choice == "auto" else (choice,)
    failures = []
    for name in names:
        engine = engines.loaded.get(name)
        if engine is None:
            failures.append(f"{name}: {engines.errors.get(name, 'not loaded')}")
            continue
        try:
            if known_text is None:
                return _timed(lambda engine=engine: engine.transcribe(audio, language), "transcribe")
            return transcribe_known_text(engine, audio, language, known_text)
        except EngineFailure as exc:
            log.warning("timing engine %s failed: %s", name, exc)
            failures.append(f"{name}: {exc}")
    raise EngineUnavailable("no timing engine could run (" + "; ".join(failures) + ")")


def _timed(call, label: str) -> Transcript:
    started = time.perf_counter()
    transcript = call()
    transcript.timings_ms[label] = round((time.perf_counter() - started) * 1000, 1)
    return transcript


def transcribe_known_text(engine, audio: np.ndarray, language: str | None, text: str) -> Transcript:
    """Times for exactly the words of ``text``: forced alignment where possible, else recognise and map."""
    duration = len(audio) / SAMPLE_RATE
    timings: dict[str, float] = {}
    started = time.perf_counter()
    aligns = getattr(engine, "aligner", None) is not None
    if aligns:
        language = language or engine.detect_language(audio)
    if aligns and engine.can_align(language):
        recognised = engine.align_text(audio, text, language)
        method = "wav2vec2-known-text"
        timings["align"] = round((time.perf_counter() - started) * 1000, 1)
    else:
        transcript = engine.transcribe(audio, language)
        language = transcript.language
        recognised = transcript.words
        method = f"{transcript.method}+known-text"
        timings["transcribe"] = round((time.perf_counter() - started) * 1000, 1)
    started = time.perf_counter()
    words, stats = align_known_text(text, recognised, duration)
    timings["known_text"] = round((time.perf_counter() - started) * 1000, 1)
    return Transcript(text=re.sub(r"\s+", " ", text).strip(), language=language,
                      segments=segments_by_sentence(words), engine=engine.name, method=method,
                      model=getattr(engine, "model_name", None), known_text=stats.as_dict(),
                      timings_ms=timings)  # fmt: skip
