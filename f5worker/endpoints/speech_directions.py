"""How a job is to be read: its pronunciations (job entries over a stored lexicon) and a stored voice's
presets (the job's own fields over the voice's).

Order of precedence, highest first:

- pronunciations: the job's ``pronunciations`` entries; then the stored lexicon the job names
  (``lexicon``); else the lexicon of the voice's presets (a job's ``lexicon`` replaces the voice's,
  it does not add to it);
- settings (``speed``, ``nfe_step``, ``cfg_strength``, ``remove_silence``, ``language``): the field in
  the request (a dialogue turn's own ``speed`` first); then the voice's preset; then the default.

Shared by ``tts`` (single voice and dialogue turns) and ``stt`` (known text, pronunciations only).
"""

from __future__ import annotations

from ..context import WorkerContext
from ..media.pronunciations import Lexicon
from ..schemas import TtsRequest
from ..voice_library import VoicePresets, read_lexicon, read_voice_settings

# Request fields a voice preset may fill when the request leaves them out.
PRESET_FIELDS = ("speed", "nfe_step", "cfg_strength", "remove_silence", "language")


def voice_presets(ctx: WorkerContext, voice: str | None) -> VoicePresets:
    """A stored voice's presets (none for sent audio or a voice without any)."""
    if voice is None:
        return VoicePresets()
    return read_voice_settings(ctx.storage, voice).presets


def with_voice_presets(request: TtsRequest, ctx: WorkerContext) -> TtsRequest:
    """The request with its ``voice``'s presets filled in where the request gave no value.

    ``model_fields_set`` stays what the caller sent, so a dialogue turn can still tell a job's own
    ``speed`` (which wins over every voice's preset) from the job voice's preset. A streamed job keeps
    silences (streaming cannot remove them), so a voice's ``remove_silence`` preset does not apply to it.
    """
    presets = voice_presets(ctx, request.voice)
    update = {
        name: getattr(presets, name)
        for name in PRESET_FIELDS
        if getattr(presets, name) is not None and name not in request.model_fields_set
    }
    if request.stream:
        update.pop("remove_silence", None)
    if not update:
        return request
    filled = request.model_copy(update=update)
    object.__setattr__(filled, "__pydantic_fields_set__", set(request.model_fields_set))
    return filled


def turn_speed(ctx: WorkerContext, request: TtsRequest, own_speed: float | None, voice: str | None) -> float:
    """A dialogue turn's speed: its own, else the job's ``speed`` field, else its voice's preset."""
    if own_speed is not None:
        return own_speed
    if "speed" in request.model_fields_set or voice is None:
        return request.speed
    preset = voice_presets(ctx, voice).speed
    return preset if preset is not None else request.speed


def job_lexicon(
    ctx: WorkerContext, pronunciations: dict[str, str] | None, lexicon: str | None, field: str = "lexicon"
) -> Lexicon | None:
    """The pronunciations a text is read with: the entries over the stored lexicon; None when neither."""
    stored = read_lexicon(ctx.storage, lexicon, field) if lexicon is not None else None
    combined = Lexicon(pronunciations).over(stored)
    return combined or None


def turn_lexicon(ctx: WorkerContext, request: TtsRequest, voice: str | None, cache: dict) -> Lexicon | None:
    """A dialogue turn's pronunciations: the job's entries over the job's lexicon, else over the lexicon
    of the turn's voice. ``cache`` keeps one per voice for the job."""
    if voice not in cache:
        name = request.lexicon
        field = "lexicon"
        if name is None:
            name = voice_presets(ctx, voice).lexicon
            field = f"voice {voice!r} presets: lexicon"
        cache[voice] = job_lexicon(ctx, request.pronunciations, name, field)
    return cache[voice]
