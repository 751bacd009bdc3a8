"""The reference voice a tts job clones: a stored voice or sent audio, its text, and the checks on both.

Shared by ``tts`` (one voice), its dialogue turns (several) and ``voices`` uploads (the text check).
"""

from __future__ import annotations

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE
from ..context import WorkerContext
from ..errors import EngineUnavailable, InvalidInput
from ..media.encode import resample
from ..media.sources import read_audio_source
from ..reference_cache import decode_reference
from ..schemas import TtsRequest
from ..storage.layout import voice_text_key
from ..timing.engine_choice import run_timing
from ..voice_library import read_voice_settings
from ..voices import StoredVoice, find_voice, read_reference_text

# Speech carries about 15 characters a second; far more means the text is not what the audio says.
MAX_REF_CHARS_PER_S = 40


def prepared_reference(raw: bytes, ctx: WorkerContext, field: str) -> np.ndarray:
    """Sent reference audio, decoded and prepared (24 kHz mono, trimmed, at most F5-TTS's length)."""
    return decode_reference(raw, ctx.settings.max_audio_s, field)


def check_reference_text(ref_text: str, ref_seconds: float, field: str) -> None:
    if len(ref_text) > MAX_REF_CHARS_PER_S * ref_seconds:
        raise InvalidInput(
            f"{field}: {len(ref_text)} characters for {ref_seconds:.1f} s of reference audio; speech "
            f"carries at most about {MAX_REF_CHARS_PER_S} a second: is it the right text?"
        )


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


def stored_voice(
    ctx: WorkerContext, name: str, ref_text: str | None = None
) -> tuple[StoredVoice, np.ndarray, str, str]:
    """A stored voice, its prepared audio (the context's cache), its text and where the text came from.

    ``ref_text`` from the request wins; else the stored text; else the audio is transcribed once and
    the text saved beside it, so the next job reads it. An alias speaks with its voice's audio and text.
    """
    stored = find_voice(ctx.storage, read_voice_settings(ctx.storage, name).alias_of or name)
    samples = ctx.references.voice_audio(stored.audio_key)
    if ref_text:
        return stored, samples, ref_text, "request"
    text = read_reference_text(ctx.storage, stored)
    if text is not None:
        return stored, samples, text, "stored"
    text = transcribe_reference(ctx, samples)
    ctx.storage.put_bytes(voice_text_key(stored.name), text.encode(), content_type="text/plain")
    return stored, samples, text, "transcribed (saved)"


def load_reference(request: TtsRequest, ctx: WorkerContext) -> tuple[np.ndarray, str, dict]:
    """Reference samples (24 kHz, prepared), reference text, and what to report about the voice."""
    if request.voice:
        stored, samples, ref_text, text_source = stored_voice(ctx, request.voice, request.ref_text)
        info = {"voice": request.voice, "audio_key": stored.audio_key}
    else:
        raw = read_audio_source(request.ref_audio, "ref_audio", ctx.settings, ctx.storage)
        samples = prepared_reference(raw, ctx, "ref_audio")
        ref_text = request.ref_text or transcribe_reference(ctx, samples)
        text_source = "request" if request.ref_text else "transcribed"
        info = {"voice": None}
    info.update(ref_text=ref_text, ref_text_source=text_source, ref_duration_s=round(len(samples) / F5_SAMPLE_RATE, 3))
    return samples, ref_text, info
