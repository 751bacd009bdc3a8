"""``voices``: list, upload and delete stored voices (reference audio plus reference text)."""

from __future__ import annotations

import soundfile

from ..context import WorkerContext
from ..errors import InvalidInput, NotFound
from ..media.audio import decode_audio
from ..media.encode import encode_audio
from ..media.reference import prepare_reference
from ..media.sources import read_audio_source
from ..schemas import VoicesRequest
from ..storage.layout import voice_audio_key, voice_text_key
from ..voices import VoiceCache, list_voices, voice_keys
from .tts import check_reference_text

F5_RATE = 24000


def list_action(ctx: WorkerContext) -> dict:
    cache = VoiceCache(ctx.storage, ctx.settings.voice_cache_dir, ctx.settings.voice_lock_timeout_s)
    voices = []
    for voice in list_voices(ctx.storage):
        try:
            duration = round(soundfile.info(str(cache.fetch(voice.audio_key))).duration, 3)
        except NotFound:
            continue  # deleted by another job since the listing
        except (soundfile.LibsndfileError, RuntimeError):
            duration = None  # a format libsndfile cannot read: still listed
        voices.append({"name": voice.name, "audio_key": voice.audio_key, "duration_s": duration,
                       "has_text": voice.text_key is not None, "text_key": voice.text_key,
                       "tag": f"[{voice.name}]"})  # fmt: skip
    # Every listed voice can be a job's 'voice', a '[name]' tag in dialogue text, or a segments[].voice.
    return {"voices": voices}


def upload_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    """Stored as prepared 24 kHz mono wav: what F5-TTS will use, checked once here rather than per job."""
    existing = voice_keys(ctx.storage, request.name)
    if existing and not request.overwrite:
        raise InvalidInput(f"name: voice {request.name!r} exists; pass overwrite: true to replace it")
    raw = read_audio_source(request.audio, "audio", ctx.settings, ctx.storage)
    samples = prepare_reference(decode_audio(raw, F5_RATE, ctx.settings.max_audio_s, field="audio"), F5_RATE,
                                field="audio")  # fmt: skip
    if request.text:
        check_reference_text(request.text, len(samples) / F5_RATE, "text")
    audio_key = voice_audio_key(request.name, "wav")
    for key in existing:
        if key != audio_key:
            ctx.storage.delete(key)
    ctx.storage.put_bytes(audio_key, encode_audio(samples, F5_RATE, "wav"), content_type="audio/wav")
    text_key = None
    if request.text:
        text_key = voice_text_key(request.name)
        ctx.storage.put_bytes(text_key, " ".join(request.text.split()).encode(), content_type="text/plain")
    return {"name": request.name, "audio_key": audio_key, "text_key": text_key,
            "duration_s": round(len(samples) / F5_RATE, 3), "replaced": bool(existing)}  # fmt: skip


def delete_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    keys = voice_keys(ctx.storage, request.name)
    if not keys:
        raise NotFound(f"name: no stored voice named {request.name!r}")
    for key in keys:
        ctx.storage.delete(key)
    return {"name": request.name, "deleted": keys}


def run(request: VoicesRequest, ctx: WorkerContext, job_id: str) -> dict:
    if request.action == "list":
        return list_action(ctx)
    if request.action == "upload":
        return upload_action(request, ctx)
    return delete_action(request, ctx)


