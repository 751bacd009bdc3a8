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
from .aligner import (
    LONG_AUDIO_S,
    Piece,
    Respell,
    cut_pieces,
    known_text_transcript,
    spoken_token_map,
    spread_evenly,
    written_readings,
)
from .chunk_timer import ChunkTimer
from .recognised_alignment import align_recognised, marked_pieces, with_closing_marks
from .recogniser_mapping import align_known_text, known_text_spans
from .transcript import EngineFailure, TimedWord, Transcript, segments_by_sentence

if TYPE_CHECKING:
    from ..engines import Engines

log = logging.getLogger(__name__)
# stt's ``timing_engine``: how the words get their times (API.md). Recogniser times: ``whisper``,
# ``google``; forced alignment: ``aligner`` (pocketsphinx, English); WhisperX alignment: ``whisperx``
# (wav2vec2 where ALIGN_MODEL has a model for the language, else Whisper's own times).
ALIGNING = ("auto", "aligner")  # the choices that use the forced aligner


def recognisers_for(choice: str) -> tuple[str, ...]:
    """The recognisers a ``timing_engine`` choice may run, in order (an unknown name: itself, never loaded)."""
    if choice in ALIGNING:
        return TIMING_ENGINES
    return ("whisperx",) if choice == "whisper" else (choice,)


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

    English with ``auto`` or ``aligner`` is force-aligned: known text directly
    (:func:`align_known_audio`), recognised words after recognition (:func:`timed_recognition`).
    ``aligner`` fails rather than fall back to the recogniser's times. ``respell`` says how the text's
    words are said (pronunciations), for the aligner only (a recogniser maps what it hears onto the typed words).
    """
    if choice == "aligner":
        forced = engines.forced_aligner()
        if forced is None:
            raise EngineUnavailable(
                f"no timing engine could run (aligner: {engines.errors.get('aligner', 'not loaded')})"
            )
        if language is not None and not forced.handles("", language):  # refused before any work
            raise EngineUnavailable(NOT_FOR_ALIGNER)
    if known_text is not None and choice in ALIGNING:
        aligned = align_known_audio(engines, audio, known_text, language, respell)
        if aligned is not None:
            return aligned
        if choice == "aligner":
            raise EngineUnavailable(NOT_FOR_ALIGNER)
    failures = []
    for name in recognisers_for(choice):
        engine = engines.recogniser(name)
        if engine is None:
            failures.append(f"{name}: {engines.errors.get(name, 'not loaded')}")
            continue
        try:
            if known_text is None:
                return timed_recognition(engines, engine, audio, language, choice)
            return transcribe_known_text(engine, audio, language, known_text, realign=choice != "whisper")
        except EngineFailure as exc:
            log.warning("timing engine %s failed: %s", name, exc)
            failures.append(f"{name}: {exc}")
    raise EngineUnavailable("no timing engine could run (" + "; ".join(failures) + ")")


NOT_FOR_ALIGNER = "timing_engine: the forced aligner times English only (set language 'en' or another timing_engine)"


def transcribe_timed(engine: Recogniser, audio: np.ndarray, language: str | None, **options) -> Transcript:
    """The recogniser's transcript, with how long it took as ``timings_ms["transcribe"]``."""
    timings: dict[str, float] = {}
    with timed(timings, "transcribe"):
        transcript = engine.transcribe(audio, language, **options)
    transcript.timings_ms.update(timings)
    if transcript.timing is None:
        transcript.timing = engine.name
    return transcript


def timed_recognition(
    engines: Engines, engine: Recogniser, audio: np.ndarray, language: str | None, choice: str
) -> Transcript:
    """stt without text: recognise, then time the words the most accurate way ``choice`` allows.

    English: the forced aligner on the recognised words (:mod:`.recognised_alignment`); else
    WhisperX's wav2vec2 where it has a model for the language; else the recogniser's own times.
    WhisperX's wav2vec2 pass is left out until the forced aligner has declined (it would be overwritten).
    """
    realigner = text_aligner(engine)
    forced = engines.forced_aligner() if choice in ALIGNING else None
    if realigner is None:
        transcript = transcribe_timed(engine, audio, language)
    else:
        transcript = transcribe_timed(realigner, audio, language, realign=False)
    if not transcript.words:  # nothing heard: nothing to time, whichever way was asked for
        return transcript
    if forced is not None:
        aligned = align_recognised(forced, audio, transcript)
        if aligned is not None:
            return aligned
    if choice == "aligner":
        raise EngineUnavailable(NOT_FOR_ALIGNER)
    if realigner is not None and choice != "whisper" and realigner.can_align(transcript.language):
        timings: dict[str, float] = {}
        with timed(timings, "align"):
            transcript = realigner.realign(transcript, audio)
        transcript.timings_ms.update(timings)
    return with_timed_by(transcript)


def with_timed_by(transcript: Transcript) -> Transcript:
    """Every word says how it was timed: a word with no ``timed_by`` kept the recogniser's time (``matched``)."""
    for segment in transcript.segments:
        segment.words = [
            word if getattr(word, "timed_by", None) else TimedWord(**word.model_dump(), timed_by="matched")
            for word in segment.words
        ]
    return transcript


def text_aligner(engine: Recogniser) -> TextAligningRecogniser | None:
    """The recogniser as an aligner of known text, when it carries an alignment model (WhisperX's wav2vec2)."""
    if getattr(engine, "aligner", None) is None:
        return None
    return cast(TextAligningRecogniser, engine)


def transcribe_known_text(
    engine: Recogniser, audio: np.ndarray, language: str | None, text: str, *, realign: bool = True
) -> Transcript:
    """Times for exactly the words of ``text``: wav2vec2 alignment where possible (and ``realign``),
    else recognise and map."""
    duration = len(audio) / SPEECH_SAMPLE_RATE
    timings: dict[str, float] = {}
    started = time.perf_counter()  # the step's name ("align" or "transcribe") is known only at its end
    aligner = text_aligner(engine) if realign else None
    if aligner is not None:
        language = language or aligner.detect_language(audio)
    if aligner is not None and aligner.can_align(language):
        recognised = aligner.align_text(audio, text, language)
        method, timing = "wav2vec2-known-text", "whisperx"
        timings["align"] = elapsed_ms(started)
    else:
        transcript = engine.transcribe(audio, language)
        timing = "google" if engine.name == "google" else "whisper"
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
        timing=timing,
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
    owners = spoken_token_map(text.split(), tokens, respell)
    marked = with_closing_marks(text.split(), tokens, owners)  # a pause allowed after "Dr."
    pieces = marked_pieces(cut_pieces(audio, tokens, approximate), marked, written_readings(text.split(), owners))
    transcript = known_text_transcript(
        aligner, audio, text, spoken_text, pieces, recogniser, recogniser_name=name, respell=respell
    )
    transcript.timing = "aligner"
    return transcript


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
