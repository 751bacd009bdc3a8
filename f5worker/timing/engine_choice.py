"""The timing engine as the endpoints see it: pick an engine (or fall back), optionally against known text."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner, Recogniser, TextAligningRecogniser
from ..errors import EngineUnavailable
from ..media.text_normalize import normalize_english
from ..metrics import elapsed_ms, timed
from ..settings import TIMING_ENGINES
from .aligner import LONG_AUDIO_S, Piece, Respell, cut_pieces, known_text_transcript, spread_evenly
from .chunk_timer import ChunkTimer
from .recogniser_mapping import align_known_text, known_text_spans
from .transcript import EngineFailure, Transcript, segments_by_sentence

if TYPE_CHECKING:
    from ..engines import Engines

log = logging.getLogger(__name__)


def run_timing(
    engines: Engines,
    audio: np.ndarray,
    *,
    choice: str,
    language: str | None,
    known_text: str | None,
    respell: Respell = None,
) -> Transcript:
    """``auto`` tries WhisperX, then Google; a named engine runs alone. None able: ``engine_unavailable``.

    Known English text with ``auto`` is force-aligned instead (:func:`align_known_audio`), with the
    recogniser only where alignment fails; ``respell`` says how the text's words are said
    (pronunciations), for the aligner only (a recogniser maps what it hears onto the typed words).
    """
    if known_text is not None and choice == "auto":
        aligned = align_known_audio(engines, audio, known_text, language, respell)
        if aligned is not None:
            return aligned
    names = TIMING_ENGINES if choice == "auto" else (choice,)
    failures = []
    for name in names:
        engine = engines.recogniser(name)
        if engine is None:
            failures.append(f"{name}: {engines.errors.get(name, 'not loaded')}")
            continue
        try:
            if known_text is None:
                return transcribe_timed(engine, audio, language)
            return transcribe_known_text(engine, audio, language, known_text)
        except EngineFailure as exc:
            log.warning("timing engine %s failed: %s", name, exc)
            failures.append(f"{name}: {exc}")
    raise EngineUnavailable("no timing engine could run (" + "; ".join(failures) + ")")


def transcribe_timed(engine: Recogniser, audio: np.ndarray, language: str | None) -> Transcript:
    """The recogniser's transcript, with how long it took as ``timings_ms["transcribe"]``."""
    timings: dict[str, float] = {}
    with timed(timings, "transcribe"):
        transcript = engine.transcribe(audio, language)
    transcript.timings_ms.update(timings)
    return transcript


def text_aligner(engine: Recogniser) -> TextAligningRecogniser | None:
    """The recogniser as an aligner of known text, when it carries an alignment model (WhisperX's wav2vec2)."""
    if getattr(engine, "aligner", None) is None:
        return None
    return cast(TextAligningRecogniser, engine)


def transcribe_known_text(engine: Recogniser, audio: np.ndarray, language: str | None, text: str) -> Transcript:
    """Times for exactly the words of ``text``: forced alignment where possible, else recognise and map."""
    duration = len(audio) / SPEECH_SAMPLE_RATE
    timings: dict[str, float] = {}
    started = time.perf_counter()  # the step's name ("align" or "transcribe") is known only at its end
    aligner = text_aligner(engine)
    if aligner is not None:
        language = language or aligner.detect_language(audio)
    if aligner is not None and aligner.can_align(language):
        recognised = aligner.align_text(audio, text, language)
        method = "wav2vec2-known-text"
        timings["align"] = elapsed_ms(started)
    else:
        transcript = engine.transcribe(audio, language)
        language = transcript.language
        recognised = transcript.words
        method = f"{transcript.method}+known-text"
        timings["transcribe"] = elapsed_ms(started)
    with timed(timings, "known_text"):
        words, stats = align_known_text(text, recognised, duration)
    return Transcript(
        text=re.sub(r"\s+", " ", text).strip(),
        language=language,
        segments=segments_by_sentence(words),
        engine=engine.name,
        method=method,
        model=getattr(engine, "model_name", None),
        known_text=stats.as_dict(),
        timings_ms=timings,
    )


# --------------------------------------------------------------------------- forced alignment of known text


def english_aligner(engines: Engines, text: str, language: str | None) -> KnownTextAligner | None:
    """The warm forced aligner when it can take this text (English), else None."""
    aligner = engines.forced_aligner()
    if aligner is None or not text.strip() or not aligner.handles(text, language):
        return None
    return aligner


def recogniser_for_fallback(engines: Engines) -> tuple[Callable | None, str | None]:
    """16 kHz audio -> recognised English words from the first loaded recogniser (for failed pieces)."""
    for name in TIMING_ENGINES:
        engine = engines.recogniser(name)
        if engine is not None:
            return (lambda audio, engine=engine: engine.transcribe(audio, "en").words), name
    return None, None


def align_known_audio(
    engines: Engines, audio: np.ndarray, text: str, language: str | None, respell: Respell = None
) -> Transcript | None:
    """stt with ``text``: the whole file force-aligned, long files cut at pauses near sentence ends.

    The cut points come from the recogniser's words mapped onto the text (one pass over the file),
    or from an even spread over the speech when no recogniser is loaded. None: not for the aligner.
    """
    aligner = english_aligner(engines, text, language)
    if aligner is None:
        return None
    spoken_text = normalize_english(respell(text) if respell else text)
    tokens = spoken_text.split()
    recogniser, name = recogniser_for_fallback(engines)
    duration = len(audio) / SPEECH_SAMPLE_RATE
    approximate: list[tuple[float, float]] = []
    if duration > LONG_AUDIO_S:
        approximate = _approximate_times(audio, spoken_text, recogniser)
    pieces = cut_pieces(audio, tokens, approximate)
    return known_text_transcript(
        aligner, audio, text, spoken_text, pieces, recogniser, recogniser_name=name, respell=respell
    )


def _approximate_times(audio: np.ndarray, spoken_text: str, recogniser) -> list[tuple[float, float]]:
    duration = len(audio) / SPEECH_SAMPLE_RATE
    if recogniser is not None:
        try:
            _tokens, slots, _stats = known_text_spans(spoken_text, recogniser(audio), duration)
            return [(slot.start, slot.end) for slot in slots]
        except EngineFailure as exc:
            log.warning("no recogniser times to cut long audio at (%s): spreading evenly", exc)
    piece = Piece(0, spoken_text.split(), 0.0, duration)
    return spread_evenly(piece.tokens, audio)


def chunk_timer(
    engines: Engines,
    text: str,
    spoken_text: str,
    rate: int,
    speakers: Sequence[str | None] | None = None,
    respell: Respell = None,
    language: str | None = None,
) -> ChunkTimer | None:
    """tts: the job's chunk-by-chunk aligner (:mod:`.chunk_timer`); None when the text is not for it."""
    aligner = english_aligner(engines, spoken_text, language)
    if aligner is None:
        return None
    recogniser, name = recogniser_for_fallback(engines)
    return ChunkTimer(aligner, recogniser, name, text, spoken_text, rate, speakers, respell)
