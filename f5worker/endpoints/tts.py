"""``tts``: voice-cloned speech from text, stored and returned, optionally with timed subtitles.

Flow: reference voice -> text normalisation -> chunking -> F5-TTS -> silence/resample/encode ->
storage -> (known-text timing of the final audio) -> stored result.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE
from ..context import WorkerContext
from ..engines import is_unrecoverable
from ..engines.f5 import chunk_durations
from ..engines.timing import run_timing
from ..errors import EngineUnavailable, InvalidInput
from ..media.audio import decode_audio
from ..media.chunking import chunk_budget, split_text
from ..media.encode import AUDIO_CONTENT_TYPES, encode_audio, resample
from ..media.reference import prepare_reference
from ..media.silence import long_silence_mask
from ..media.sources import read_audio_source
from ..progress import report_progress
from ..schemas import TtsRequest
from ..storage.layout import audio_key, voice_text_key
from ..voices import VoiceCache, find_voice, read_reference_text
from .limits import (
    InlineBudget,
    base64_size,
    check_response_size,
    estimated_speech_seconds,
    estimated_wav_bytes,
    require_timing_engine,
    text_to_speak,
)
from .result import save_result
from .stt import elapsed_ms
from .timing_files import require_url_storage, resolve_delivery, store_timing_files
from .tts_dialogue import (
    DIALOGUE_FIELDS,
    dialogue_params,
    label_speakers,
    plan_dialogue,
    speaker_options,
    synthesize_dialogue,
)
from .tts_stream import check_stream_request, chunk_word_timer, piece_listener

# f5-tts's longest sequence (reference plus speech) in one chunk: 8192 mel frames of 256 samples.
F5_MAX_CHUNK_S = 8192 * 256 / F5_SAMPLE_RATE
# Speech carries about 15 characters a second; far more means the text is not what the audio says.
MAX_REF_CHARS_PER_S = 40
PREPARED_CACHE_SIZE = 16
_prepared: OrderedDict[tuple, np.ndarray] = OrderedDict()
_prepared_lock = threading.Lock()


def resolve_audio_return(requested: str | None, ctx: WorkerContext) -> str:
    if requested in ("url", "both"):
        require_url_storage(ctx, "return_audio", "base64")
    return requested or ("url" if ctx.storage.backend == "s3" else "base64")


def prepared_reference(raw: bytes, ctx: WorkerContext, field: str) -> np.ndarray:
    samples = decode_audio(raw, F5_SAMPLE_RATE, ctx.settings.max_audio_s, field=field)
    return prepare_reference(samples, F5_SAMPLE_RATE, field=field)


def cached_voice_audio(path: Path, ctx: WorkerContext) -> np.ndarray:
    """Decoded, prepared audio of a cached voice file, kept in memory: a warm worker decodes a voice once."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _prepared_lock:
        if key in _prepared:
            _prepared.move_to_end(key)
            return _prepared[key]
    samples = prepared_reference(path.read_bytes(), ctx, "voice")
    with _prepared_lock:
        _prepared[key] = samples
        while len(_prepared) > PREPARED_CACHE_SIZE:
            _prepared.popitem(last=False)
    return samples


def transcribe_reference(ctx: WorkerContext, samples: np.ndarray) -> str:
    """Reference text from the worker's own warm timing engine (never a second ASR model inside f5-tts)."""
    audio = resample(samples, F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE)
    try:
        transcript = run_timing(ctx.engines, audio, choice="auto", language=None, known_text=None)
    except EngineUnavailable as exc:
        raise EngineUnavailable(f"ref_text: missing and cannot be transcribed ({exc.message})") from None
    if not transcript.text.strip():
        raise InvalidInput("ref_text: missing, and no speech was recognised in the reference audio")
    return transcript.text.strip()


def load_reference(request: TtsRequest, ctx: WorkerContext) -> tuple[np.ndarray, str, dict]:
    """Reference samples (24 kHz, prepared), reference text, and what to report about the voice."""
    if request.voice:
        stored = find_voice(ctx.storage, request.voice)
        cache = VoiceCache(ctx.storage, ctx.settings.voice_cache_dir, ctx.settings.voice_lock_timeout_s)
        samples = cached_voice_audio(cache.fetch(stored.audio_key), ctx)
        ref_text = request.ref_text or read_reference_text(ctx.storage, stored)
        text_source = "request" if request.ref_text else "stored"
        if ref_text is None:
            ref_text = transcribe_reference(ctx, samples)
            ctx.storage.put_bytes(voice_text_key(stored.name), ref_text.encode(), content_type="text/plain")
            text_source = "transcribed (saved)"
        info = {"voice": stored.name, "audio_key": stored.audio_key}
    else:
        raw = read_audio_source(request.ref_audio, "ref_audio", ctx.settings, ctx.storage)
        samples = prepared_reference(raw, ctx, "ref_audio")
        ref_text = request.ref_text or transcribe_reference(ctx, samples)
        text_source = "request" if request.ref_text else "transcribed"
        info = {"voice": None}
    info.update(ref_text=ref_text, ref_text_source=text_source, ref_duration_s=round(len(samples) / F5_SAMPLE_RATE, 3))
    return samples, ref_text, info


def check_reference_text(ref_text: str, ref_seconds: float, field: str) -> None:
    if len(ref_text) > MAX_REF_CHARS_PER_S * ref_seconds:
        raise InvalidInput(
            f"{field}: {len(ref_text)} characters for {ref_seconds:.1f} s of reference audio; speech "
            f"carries at most about {MAX_REF_CHARS_PER_S} a second: is it the right text?"
        )


def check_model_limits(request: TtsRequest, ref_seconds: float, ref_text: str, chunks: list[str]) -> None:
    """Refuse what f5-tts cannot take (it would fail deep inside with a tensor size error)."""
    if not chunks:
        raise InvalidInput("text: contains no words to speak")
    seconds_per_byte = ref_seconds / max(len(ref_text.encode("utf-8")), 1)  # f5-tts's own pace estimate
    for chunk in chunks:
        if ref_seconds + seconds_per_byte * len(chunk.encode("utf-8")) / request.speed > F5_MAX_CHUNK_S:
            raise InvalidInput(
                f"text: a passage of {len(chunk)} characters with no space or punctuation to split at "
                f"is too long for one F5-TTS chunk; add spaces or punctuation"
            )
    durations = chunk_durations(
        request.fix_duration, int(ref_seconds * F5_SAMPLE_RATE), chunks, request.cross_fade_duration
    )
    if any(duration and duration > F5_MAX_CHUNK_S for duration in durations):
        raise InvalidInput(
            f"fix_duration: {request.fix_duration:g} s makes a chunk longer than F5-TTS's "
            f"{F5_MAX_CHUNK_S:.0f} s (reference included) for this text; use less"
        )


def require_job_engines(request: TtsRequest, ctx: WorkerContext) -> None:
    """Every engine the job will need, checked before any work (no synthesis thrown away at the end)."""
    aligns = request.timing_engine == "auto" and "aligner" in ctx.engines.loaded
    if request.return_word_timings and not aligns:  # the aligner falls back to a recogniser only when it can
        require_timing_engine(ctx, request.timing_engine)
    if request.ref_audio and not request.ref_text:
        require_timing_engine(ctx, "auto", needed_for="ref_text: missing and cannot be transcribed")


def check_inline_estimate(request: TtsRequest, audio_return: str, budget: InlineBudget, seconds: float) -> None:
    """Before synthesis: a wav whose estimated size (80 %, as silence removal may shorten it) cannot
    be returned inline is refused now (where no URL can stand in)."""
    if audio_return in ("base64", "both") and request.output_format == "wav":
        size = base64_size(estimated_wav_bytes(seconds * 0.8, request.sample_rate))
        budget.check_estimate("return_audio", size, "the base64 wav audio (estimated)")


def fit_audio_inline(audio_return: str, size: int, fmt: str, budget: InlineBudget) -> tuple[str, str | None]:
    """``return_audio`` as it can be honoured: base64 within the inline budget, else a URL (S3)."""
    if audio_return not in ("base64", "both"):
        return audio_return, None
    if budget.take("return_audio", base64_size(size), f"the base64 {fmt} audio"):
        return audio_return, None
    return "url", "over MAX_INLINE_BYTES: delivered by url instead"


def run(request: TtsRequest, ctx: WorkerContext, job_id: str) -> dict:
    started = time.perf_counter()
    check_stream_request(request.stream, request.remove_silence)
    spoken = text_to_speak(request.total_text, request.normalize_text, ctx.settings.max_text_chars)
    audio_return = resolve_audio_return(request.return_audio, ctx)
    delivery = resolve_delivery(request.delivery, ctx) if request.return_word_timings else None
    engine = ctx.engines.require("tts")
    require_job_engines(request, ctx)
    budget = InlineBudget(ctx)
    metrics: dict[str, float | bool | None] = {"model_loaded": True, "model_load_ms": ctx.engines.load_ms.get("tts")}

    step = time.perf_counter()
    dialogue = plan_dialogue(request, ctx) if request.is_multi_voice else None  # voice turns: tts_dialogue.py
    if dialogue is not None:
        voice_info, spoken_text = dialogue.voice_info, dialogue.spoken_text
        chunks = [chunk for turn in dialogue.turns for chunk in turn.chunks]
    else:
        ref_audio, ref_text, voice_info = load_reference(request, ctx)
    metrics["reference_ms"] = elapsed_ms(step)

    step = time.perf_counter()
    if dialogue is None:
        spoken_text = spoken
        ref_seconds = len(ref_audio) / F5_SAMPLE_RATE
        check_reference_text(ref_text, ref_seconds, "ref_text" if request.ref_text else "voice")
        chunks = split_text(spoken_text, chunk_budget(ref_text, ref_seconds, request.speed))
        check_model_limits(request, ref_seconds, ref_text, chunks)
        check_inline_estimate(
            request,
            audio_return,
            budget,
            estimated_speech_seconds(request.fix_duration, request.speed, ref_seconds, ref_text, chunks),
        )
    metrics["normalize_ms"] = elapsed_ms(step)

    timer = chunk_word_timer(request, ctx.engines, spoken_text, dialogue)  # chunk-by-chunk words: tts_stream.py
    seed = request.seed if request.seed is not None else random.randrange(2**31)
    step = time.perf_counter()

    def on_chunk(done: int, total: int) -> None:
        if total > 1:
            report_progress({"stage": "synthesis", "chunk": done, "chunks": total})

    try:
        if dialogue is not None:
            speech, spans = synthesize_dialogue(
                engine, dialogue, request, seed, on_chunk, piece_listener(request.stream, dialogue.item_count, timer)
            )
        else:
            speech, spans = engine.synthesize_with_spans(
                ref_audio=ref_audio,
                ref_text=ref_text,
                chunks=chunks,
                nfe_step=request.nfe_step,
                cfg_strength=request.cfg_strength,
                sway_sampling_coef=request.sway_sampling_coef,
                target_rms=request.target_rms,
                cross_fade_duration=request.cross_fade_duration,
                speed=request.speed,
                seed=seed,
                fix_duration=request.fix_duration,
                on_chunk=on_chunk,
                on_piece=piece_listener(request.stream, len(chunks), timer),
            )
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
        if is_unrecoverable(exc):
            raise ctx.engines.mark_broken("tts", exc) from exc
        raise
    metrics["synthesis_ms"] = elapsed_ms(step)
    unsilenced, kept = speech, None  # word times are aligned before silence removal and mapped through it
    if request.remove_silence:
        kept = long_silence_mask(speech, F5_SAMPLE_RATE)
        speech = speech[kept]
    duration_s = round(len(speech) / F5_SAMPLE_RATE, 3)

    step = time.perf_counter()
    output_audio = (
        speech if request.sample_rate == F5_SAMPLE_RATE else resample(speech, F5_SAMPLE_RATE, request.sample_rate)
    )
    encoded = encode_audio(output_audio, request.sample_rate, request.output_format)
    metrics["encoding_ms"] = elapsed_ms(step)
    audio_return, inline_note = fit_audio_inline(audio_return, len(encoded), request.output_format, budget)

    step = time.perf_counter()
    key = audio_key(job_id, request.output_format)
    ctx.storage.put_bytes(key, encoded, content_type=AUDIO_CONTENT_TYPES[request.output_format])
    audio = {
        "key": key,
        "format": request.output_format,
        "content_type": AUDIO_CONTENT_TYPES[request.output_format],
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
    metrics["storage_ms"] = elapsed_ms(step)

    timings = None
    if request.return_word_timings:
        step = time.perf_counter()
        report_progress({"stage": "timing"})
        known_text = dialogue.known_text if dialogue else request.text
        transcript = None
        if timer is not None:  # forced alignment chunk by chunk (streamed chunks were aligned already)
            transcript = timer.transcript(unsilenced, spans, keep=kept)
        if transcript is None:  # the recogniser: a named engine, or no aligner for the text
            transcript = run_timing(
                ctx.engines,
                resample(speech, F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE),
                choice=request.timing_engine,
                language=None,
                known_text=known_text,
            )
        words = label_speakers(transcript.words, dialogue.ranges) if dialogue else transcript.words
        files = store_timing_files(
            ctx,
            job_id,
            words,
            request.timing_formats,
            request.caption_options(),
            delivery,
            budget=budget,
            speakers=speaker_options(request, dialogue),
        )
        timings = {"engine": transcript.engine_output(), "words": [w.model_dump() for w in words], "files": files}
        metrics["timing_ms"] = elapsed_ms(step)

    metrics["total_ms"] = elapsed_ms(started)
    metrics["real_time_factor"] = round(metrics["total_ms"] / 1000 / duration_s, 4) if duration_s else None
    params = request.model_dump(exclude={"endpoint", "text", "ref_audio", "ref_text", "stream", *DIALOGUE_FIELDS})
    if dialogue is not None:
        params.update(dialogue_params(request, dialogue))
    params.update(seed=seed, chunks=len(chunks), normalized_text=spoken_text if request.normalize_text else None)
    output = {
        "job_id": job_id,
        "audio": audio,
        "timings": timings,
        "voice": voice_info,
        "params": params,
        "metrics": metrics,
        "engine": engine.describe(),
    }
    check_response_size(output, ctx, "text")
    # The stored result points at the audio instead of repeating megabytes of base64.
    save_result(ctx.storage, job_id, "tts", dict(output, audio={k: v for k, v in audio.items() if k != "base64"}))
    return output
