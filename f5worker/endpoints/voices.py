"""``voices``: list, upload and delete stored voices (reference audio plus reference text)."""

from __future__ import annotations

import hashlib

import soundfile

from ..audio_rates import F5_SAMPLE_RATE
from ..context import WorkerContext
from ..errors import InvalidInput, NotFound, StorageError, shown
from ..media.encode import encode_audio
from ..media.sources import read_audio_source
from ..schemas import VoicesRequest
from ..storage.layout import VOICE_AUDIO_EXTENSIONS, voice_audio_key, voice_text_key
from ..voices import list_voices, malformed_voice_keys, voice_keys
from .voice_reference import check_reference_text, prepared_reference


def list_action(ctx: WorkerContext) -> dict:
    cache = ctx.references.files
    voices = []
    for voice in list_voices(ctx.storage):
        try:
            duration = round(soundfile.info(str(cache.fetch(voice.audio_key))).duration, 3)
        except NotFound:
            continue  # deleted by another job since the listing
        except (soundfile.LibsndfileError, RuntimeError):
            duration = None  # a format libsndfile cannot read: still listed
        voices.append(
            {
                "name": voice.name,
                "audio_key": voice.audio_key,
                "duration_s": duration,
                "has_text": voice.text_key is not None,
                "text_key": voice.text_key,
                "tag": f"[{voice.name}]",
            }
        )
    # Every listed voice can be a job's 'voice', a '[name]' tag in dialogue text, or a segments[].voice.
    skipped = [
        {"key": key, "reason": "not a voice file (name pattern or extension); delete it with 'key'"}
        for key in malformed_voice_keys(ctx.storage)
    ]
    return {"voices": voices, "skipped": skipped} if skipped else {"voices": voices}


def _exists_error(name: str) -> InvalidInput:
    return InvalidInput(f"name: voice {name!r} exists; use overwrite: true to replace it")


def _won_the_create(ctx: WorkerContext, key: str, data: bytes) -> bool:
    """Exactly one of N racing uploads of a new name creates it: O_EXCL-style link on disk, PutObject
    If-None-Match on S3. A store that ignores If-None-Match (B2 may) is caught by reading the ETag back."""
    if not ctx.storage.create_exclusive(key, data, content_type="audio/wav"):
        return False
    if ctx.storage.backend == "s3":
        etag = ctx.storage.fingerprint(key).rpartition("-")[2]
        return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    return True


def _is_audio(key: str) -> bool:
    return key.rpartition(".")[2] in VOICE_AUDIO_EXTENSIONS


def upload_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    """Stored as prepared 24 kHz mono wav: what F5-TTS will use, checked once here rather than per job.

    A voice exists exactly when its audio does (what ``list`` and ``voice`` look up): the audio is
    written first and is the commit, its text after it; a delete removes the audio first. Text left
    without audio (a delete that raced an upload, an old crash) does not make the name taken, and an
    upload that finds its audio deleted under it takes its text away again.
    """
    existing = voice_keys(ctx.storage, request.name)
    if any(_is_audio(key) for key in existing) and not request.overwrite:
        raise _exists_error(request.name)
    raw = read_audio_source(request.audio, "audio", ctx.settings, ctx.storage)
    samples = prepared_reference(raw, ctx, "audio")
    if request.text:
        check_reference_text(request.text, len(samples) / F5_SAMPLE_RATE, "text")
    audio_key = voice_audio_key(request.name, "wav")
    wav = encode_audio(samples, F5_SAMPLE_RATE, "wav")
    if request.overwrite:
        ctx.storage.put_bytes(audio_key, wav, content_type="audio/wav")
    elif not _won_the_create(ctx, audio_key, wav):
        raise _exists_error(request.name)
    for key in existing:  # the old voice's other files, or leftovers of a voice whose audio is gone
        if key != audio_key:
            ctx.storage.delete(key)
    text_key = None
    if request.text:
        text_key = voice_text_key(request.name)
        ctx.storage.put_bytes(text_key, " ".join(request.text.split()).encode(), content_type="text/plain")
        if not ctx.storage.exists(audio_key):  # deleted by another job between the two writes
            ctx.storage.delete(text_key)
            raise StorageError(
                f"name: voice {request.name!r} was deleted by another job during this upload; "
                f"nothing is stored, upload it again"
            )
    return {
        "name": request.name,
        "audio_key": audio_key,
        "text_key": text_key,
        "duration_s": round(len(samples) / F5_SAMPLE_RATE, 3),
        "replaced": any(_is_audio(key) for key in existing),
    }


def delete_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    if request.key is not None:
        if request.key not in ctx.storage.list_keys("voices/"):
            raise NotFound(f"key: no stored object {shown(request.key)} under voices/")
        ctx.storage.delete_listed(request.key)
        return {"key": request.key, "deleted": [request.key]}
    keys = voice_keys(ctx.storage, request.name)
    if not keys:
        raise NotFound(f"name: no stored voice named {request.name!r}")
    for key in sorted(keys, key=lambda key: not _is_audio(key)):  # the audio first: the voice is gone at once
        ctx.storage.delete(key)
    return {"name": request.name, "deleted": keys}


def run(request: VoicesRequest, ctx: WorkerContext, job_id: str) -> dict:
    if request.action == "list":
        return list_action(ctx)
    if request.action == "upload":
        return upload_action(request, ctx)
    return delete_action(request, ctx)
