"""``tts``: voice-cloned speech from text, stored and returned, optionally with timed subtitles.

Flow, one stage function each, timed into the job's ``metrics``: checks (nothing is worked on
before every refusal is made) -> the speech plan (``tts_plan.py``: reference voices, turns and
chunks; ``reference_ms``, ``normalize_ms``) -> F5-TTS chunk by chunk through one joiner
(``tts_speech.py``), each chunk checked and taken again while it fails (``tts_retakes.py``;
``synthesis_ms``) -> silence removal -> resample/encode (``encoding_ms``) -> storage
(``storage_ms``) -> word timings (``timing_ms``: the chunks force-aligned where they lie, streamed chunks
already as their items went out; else the recogniser) -> stored result.
"""

from __future__ import annotations

import base64
import logging
import random
from dataclasses import dataclass

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE
from ..context import WorkerContext
from ..engines import is_unrecoverable
from ..engines.f5 import ChunkSpan
from ..engines.roles import Synthesiser
from ..errors import EngineUnavailable
from ..media.encode import AUDIO_CONTENT_TYPES, encode_audio, resample
from ..media.silence import long_silence_mask, time_through_mask
from ..metrics import timed
from ..schemas import TtsRequest
from ..storage.layout import audio_key
from ..storage.results import save_result
from ..timing.chunk_timer import ChunkTimer
from ..timing.engine_choice import TIMING_ENGINES, run_timing
from ..timing.script_check import script_checker
from .delivery import FileDelivery, resolve_audio_return, resolve_delivery
from .limits import (
    InlineBudget,
    base64_size,
    check_response_size,
    estimated_speech_seconds,
    estimated_wav_bytes,
    require_timing_engine,
    text_to_speak,
)
from .speech_directions import with_voice_presets
from .timing_files import store_timing_files
from .tts_dialogue import DIALOGUE_FIELDS, dialogue_params, label_speakers, speaker_options
from .tts_plan import Pause, SpeechPlan, plan_speech
from .tts_retakes import Retakes
from .tts_speech import SpokenPlan, speak
from .tts_stream import check_stream_request, chunk_word_timer, piece_listener

Metrics = dict[str, float | bool | None]

log = logging.getLogger(__name__)


@dataclass
class JobSetup:
    """What the checks made of the request before any work."""

    spoken: str  # the text as it will be spoken (normalised when asked)
    audio_return: str  # url, base64 or both
    delivery: FileDelivery | None  # of the timing files; None without word timings
    engine: Synthesiser
    budget: InlineBudget
    verify: str  # off, check or retake


@dataclass
class Speech:
    """The synthesised audio at 24 kHz, and what word timing needs to know about how it was made."""

    samples: np.ndarray  # the final audio (after silence removal)
    unsilenced: np.ndarray  # before silence removal: where the chunk spans point
    kept: np.ndarray | None  # the samples silence removal kept (None: it did not run)
    spans: list[ChunkSpan]  # where each of the plan's pieces (chunks, pauses) lies in `unsilenced`
    ranges: list[tuple[float, float, str]]  # (start_s, end_s, speaker) of each turn in `unsilenced`

    @property
    def duration_s(self) -> float:
        return round(len(self.samples) / F5_SAMPLE_RATE, 3)


def require_job_engines(request: TtsRequest, ctx: WorkerContext) -> None:
    """Every engine the job will need, checked before any work (no synthesis thrown away at the end)."""
    aligns = request.timing_engine == "auto" and "aligner" in ctx.engines.loaded
    if request.return_word_timings and not aligns:  # the aligner falls back to a recogniser only when it can
        require_timing_engine(ctx, request.timing_engine)
    if request.ref_audio and not request.ref_text:
        require_timing_engine(ctx, "auto", needed_for="ref_text: missing and cannot be transcribed")


def verify_mode(request: TtsRequest, ctx: WorkerContext) -> str:
    """``verify`` as the job runs it: as asked (an engine to check with is needed), else ``retake``
    when a recogniser is loaded (the check's main evidence), else ``off``."""
    loaded = ctx.engines.loaded
    recogniser = any(name in loaded for name in TIMING_ENGINES)
    if request.verify is None:
        return "retake" if recogniser else "off"
    if request.verify != "off" and not (recogniser or "aligner" in loaded):
        raise EngineUnavailable(
            f"verify: {request.verify} needs a recogniser or the forced aligner, and this worker has neither"
        )
    return request.verify


def check_inline_estimate(request: TtsRequest, audio_return: str, budget: InlineBudget, plan: SpeechPlan) -> None:
    """Before synthesis: a wav whose estimated size (80 %, as silence removal may shorten it) cannot
    be returned inline is refused now (where no URL can stand in)."""
    if audio_return in ("base64", "both") and request.output_format == "wav":
        seconds = sum(
            estimated_speech_seconds(
                request.fix_duration if not plan.multi_voice else None,
                turn.params.speed,
                turn.ref_seconds,
                turn.ref_text,
                [chunk.spoken for chunk in plan.turn_chunks(position)],
            )
            for position, turn in enumerate(plan.turns)
        )
        seconds += sum(pause.samples for pause in plan.pauses) / F5_SAMPLE_RATE  # pause tags' silence stays
        size = base64_size(estimated_wav_bytes(seconds * 0.8, request.sample_rate))
        budget.check_estimate("return_audio", size, "the base64 wav audio (estimated)")


def fit_audio_inline(audio_return: str, size: int, fmt: str, budget: InlineBudget) -> tuple[str, str | None]:
    """``return_audio`` as it can be honoured: base64 within the inline budget, else a URL (S3)."""
    if audio_return not in ("base64", "both"):
        return audio_return, None
    if budget.take("return_audio", base64_size(size), f"the base64 {fmt} audio"):
        return audio_return, None
    return "url", "over MAX_INLINE_BYTES: delivered by url instead"


def check_job(request: TtsRequest, ctx: WorkerContext) -> JobSetup:
    """Every refusal that needs no reference audio, in the order callers see them."""
    check_stream_request(request.stream, request.remove_silence, ctx.signals)
    spoken = text_to_speak(request.total_text, request.normalize_text, ctx.settings.max_text_chars)
    audio_return = resolve_audio_return(request.return_audio, ctx)
    delivery = resolve_delivery(request.delivery, ctx) if request.return_word_timings else None
    engine = ctx.engines.synthesiser()
    require_job_engines(request, ctx)
    return JobSetup(spoken, audio_return, delivery, engine, InlineBudget(ctx), verify_mode(request, ctx))


def synthesize(
    engine: Synthesiser,
    plan: SpeechPlan,
    request: TtsRequest,
    seed: int,
    ctx: WorkerContext,
    timer: ChunkTimer | None,
    retakes: Retakes | None,
) -> SpokenPlan:
    """The plan spoken (:mod:`.tts_speech`); a GPU failure that poisons the process takes the engine out
    of service. Streamed chunks go out as their cross-fades settle, each aligned by ``timer`` as its
    item is made."""

    def on_chunk(done: int, total: int) -> None:
        if total > 1:
            ctx.signals.report({"stage": "synthesis", "chunk": done, "chunks": total})

    listener = piece_listener(ctx.signals, request.stream, len(plan.pieces), timer)
    try:
        return speak(engine, plan, seed, request.cross_fade_duration, listener, on_chunk, retakes)
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
        if is_unrecoverable(exc):
            raise ctx.engines.mark_broken("tts", exc) from exc
        raise


def remove_long_silences(spoken: SpokenPlan, plan: SpeechPlan, remove: bool) -> Speech:
    """Word times are aligned before silence removal and mapped through the mask it kept; the silence
    of a pause tag is asked for, so it stays whole."""
    samples = spoken.samples
    kept = long_silence_mask(samples, F5_SAMPLE_RATE) if remove else None
    if kept is not None:
        for piece, span in zip(plan.pieces, spoken.spans, strict=True):
            if isinstance(piece, Pause) and piece.exact:
                kept[span.start : span.end] = True
    final = samples[kept] if kept is not None else samples
    return Speech(final, samples, kept, spoken.spans, spoken.turn_ranges(plan))


def encode_output(speech: Speech, request: TtsRequest) -> bytes:
    samples = speech.samples
    if request.sample_rate != F5_SAMPLE_RATE:
        samples = resample(samples, F5_SAMPLE_RATE, request.sample_rate)
    return encode_audio(samples, request.sample_rate, request.output_format)


def store_audio(
    ctx: WorkerContext, job_id: str, request: TtsRequest, encoded: bytes, duration_s: float, setup: JobSetup
) -> dict:
    """Store the audio, then describe it as returned: URL and/or base64 (a URL when inline is over budget)."""
    fmt = request.output_format
    audio_return, inline_note = fit_audio_inline(setup.audio_return, len(encoded), fmt, setup.budget)
    key = audio_key(job_id, fmt)
    ctx.storage.put_bytes(key, encoded, content_type=AUDIO_CONTENT_TYPES[fmt])
    audio = {
        "key": key,
        "format": fmt,
        "content_type": AUDIO_CONTENT_TYPES[fmt],
        "duration_s": duration_s,
        "sample_rate": request.sample_rate,
        "size_bytes": len(encoded),
    }
    if audio_return in ("url", "both"):
        audio["url"] = ctx.storage.presigned_url(key)
    if audio_return in ("base64", "both"):
        audio["base64"] = base64.b64encode(encoded).decode("ascii")
    if inline_note:
        audio["inline_skipped"] = inline_note
    return audio


def word_timings(
    ctx: WorkerContext,
    job_id: str,
    request: TtsRequest,
    plan: SpeechPlan,
    speech: Speech,
    setup: JobSetup,
    timer: ChunkTimer | None,
) -> dict:
    """Word times of the final audio: the chunks force-aligned where they lie, else the recogniser."""
    ctx.signals.report({"stage": "timing"})
    transcript = None
    if timer is not None:  # forced alignment chunk by chunk (streamed chunks were aligned already)
        transcript = timer.transcript(speech.unsilenced, speech.spans, keep=speech.kept)
    if transcript is None:  # the recogniser: a named engine, or no aligner for the text
        transcript = run_timing(
            ctx.engines,
            resample(speech.samples, F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE),
            choice=request.timing_engine,
            language=request.language,
            known_text=plan.known_text,
        )
    words = label_speakers(transcript.words, speech.ranges) if plan.multi_voice else transcript.words
    words = mark_pauses(words, plan, speech)
    files = store_timing_files(
        ctx,
        job_id,
        words,
        request.timing_formats,
        request.caption_options(),
        setup.delivery,
        budget=setup.budget,
        speakers=speaker_options(request, plan.speakers if plan.multi_voice else None),
    )
    return {"engine": transcript.engine_output(), "words": [w.model_dump() for w in words], "files": files}


def job_params(request: TtsRequest, plan: SpeechPlan, seed: int, verify: str) -> dict:
    """The request's synthesis settings as used (seed drawn, chunks counted), without texts or audio."""
    params = request.model_dump(exclude={"endpoint", "text", "ref_audio", "ref_text", "stream", *DIALOGUE_FIELDS})
    if plan.multi_voice:
        turns = [
            {"speaker": turn.speaker, "chunks": len(plan.turn_chunks(position)), "speed": turn.params.speed}
            for position, turn in enumerate(plan.turns)
        ]
        params.update(dialogue_params(request, turns))
    normalized = plan.spoken_text if request.normalize_text else None
    params.update(seed=seed, chunks=len(plan.chunks), normalized_text=normalized, verify=verify)
    if plan.pauses:
        params["pauses"] = [round(pause.samples / F5_SAMPLE_RATE, 3) for pause in plan.pauses]
    if plan.pronunciations_used:
        params["pronunciations_used"] = plan.pronunciations_used
    return params


def mark_pauses(words: list, plan: SpeechPlan, speech: Speech) -> list:
    """The word before each pause tag carries its seconds (``pause_after``): a caption ends there."""
    if not plan.pauses or not words:
        return words
    moment = time_through_mask(speech.kept, F5_SAMPLE_RATE) if speech.kept is not None else (lambda t: t)
    marked = list(words)
    for piece, span in zip(plan.pieces, speech.spans, strict=True):
        if isinstance(piece, Pause) and piece.exact:
            at = moment(span.start / F5_SAMPLE_RATE)
            before = [index for index, word in enumerate(marked) if word.start < at]
            if before:
                word = marked[before[-1]]
                marked[before[-1]] = word.model_copy(update={"pause_after": round(piece.samples / F5_SAMPLE_RATE, 3)})
    return marked


def run(request: TtsRequest, ctx: WorkerContext, job_id: str) -> dict:
    metrics: Metrics = {"model_loaded": True, "model_load_ms": ctx.engines.load_ms.get("tts")}
    with timed(metrics, "total_ms"):
        request = with_voice_presets(request, ctx)  # the request's own fields win (speech_directions.py)
        setup = check_job(request, ctx)
        plan = plan_speech(request, ctx, setup.spoken, metrics)
        check_inline_estimate(request, setup.audio_return, setup.budget, plan)
        timer = chunk_word_timer(request, ctx.engines, plan)  # see tts_stream.py
        seed = request.seed if request.seed is not None else random.randrange(2**31)
        retakes = None
        if setup.verify != "off":  # see tts_retakes.py
            offsets = plan.chunk_token_offsets()
            if offsets is None:
                log.warning("chunk texts do not tile the text: word confidences are left unknown")
            respell = plan.lexicon.say if plan.lexicon else None
            retakes = Retakes(
                script_checker(ctx.engines), setup.verify, request.max_retakes, ctx.signals, offsets, respell
            )
            if timer is not None:  # the timed words carry the kept takes' confidences (tts_retakes.py)
                timer.word_confidences = retakes.word_confidences
        with timed(metrics, "synthesis_ms"):
            spoken = synthesize(setup.engine, plan, request, seed, ctx, timer, retakes)
        speech = remove_long_silences(spoken, plan, request.remove_silence)
        with timed(metrics, "encoding_ms"):
            encoded = encode_output(speech, request)
        with timed(metrics, "storage_ms"):
            audio = store_audio(ctx, job_id, request, encoded, speech.duration_s, setup)
        timings = None
        if request.return_word_timings:
            with timed(metrics, "timing_ms"):
                timings = word_timings(ctx, job_id, request, plan, speech, setup, timer)
    metrics.update(retakes.metrics() if retakes else {"verify_ms": None, "retakes": 0, "retake_ms": None})
    duration_s = speech.duration_s
    metrics["real_time_factor"] = round(metrics["total_ms"] / 1000 / duration_s, 4) if duration_s else None
    output = {
        "job_id": job_id,
        "audio": audio,
        "timings": timings,
        "voice": plan.voice_info,
        "params": job_params(request, plan, seed, setup.verify),
        "quality": retakes.quality() if retakes else None,
        "metrics": metrics,
        "engine": setup.engine.describe(),
    }
    check_response_size(output, ctx, "text")
    # The stored result points at the audio instead of repeating megabytes of base64.
    save_result(ctx.storage, job_id, "tts", dict(output, audio={k: v for k, v in audio.items() if k != "base64"}))
    return output
