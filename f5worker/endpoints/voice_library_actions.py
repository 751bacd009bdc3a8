"""The ``voices`` endpoint's lexicon, alias and preset actions, and what ``list`` shows of presets.

Kept apart from the voice upload/delete code (``voices.py``) so each reads on its own. Storage
rules are :mod:`f5worker.voice_library`'s; here are the checks a caller sees: a preset's lexicon
must exist, an alias needs a stored voice with audio, a name is one thing (a voice or an alias).
"""

from __future__ import annotations

from ..context import WorkerContext
from ..errors import InvalidInput, NotFound
from ..schemas import VoicesRequest
from ..storage.layout import lexicon_key, voice_settings_key
from ..voice_library import (
    VoicePresets,
    VoiceSettings,
    aliases_of,
    create_alias,
    lexicon_exists,
    list_lexicons,
    read_lexicon,
    read_voice_settings,
    voice_settings_names,
    write_lexicon,
    write_voice_settings,
)
from ..voices import find_voice, voice_keys


def _exists_error(kind: str, name: str) -> InvalidInput:
    return InvalidInput(f"name: {kind} {name!r} exists; use overwrite: true to replace it")


def check_presets(ctx: WorkerContext, presets: VoicePresets | None) -> None:
    """A preset's lexicon must be stored before a voice can name it (checked before any write)."""
    if presets is not None and presets.lexicon is not None and not lexicon_exists(ctx.storage, presets.lexicon):
        raise NotFound(f"presets.lexicon: no stored lexicon named {presets.lexicon!r} (upload it first)")


def is_alias(ctx: WorkerContext, name: str) -> bool:
    return read_voice_settings(ctx.storage, name).alias_of is not None


# --------------------------------------------------------------------------- lexicons


def lexicons_action(ctx: WorkerContext) -> dict:
    lexicons = []
    for name in list_lexicons(ctx.storage):
        try:
            entries = len(read_lexicon(ctx.storage, name).entries)
        except (InvalidInput, NotFound) as exc:  # edited by hand, or deleted since the listing
            lexicons.append({"name": name, "key": lexicon_key(name), "entries": None, "error": exc.message})
            continue
        lexicons.append({"name": name, "key": lexicon_key(name), "entries": entries})
    return {"lexicons": lexicons}


def upload_lexicon_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    existed = lexicon_exists(ctx.storage, request.name)
    if existed and not request.overwrite:
        raise _exists_error("lexicon", request.name)
    if not write_lexicon(ctx.storage, request.name, request.entries, request.overwrite):
        raise _exists_error("lexicon", request.name)
    key = lexicon_key(request.name)
    return {"name": request.name, "key": key, "entries": len(request.entries), "replaced": existed}


def delete_lexicon_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    key = lexicon_key(request.name)
    if not ctx.storage.exists(key):
        raise NotFound(f"name: no stored lexicon named {request.name!r}")
    ctx.storage.delete(key)
    return {"name": request.name, "deleted": [key]}


# --------------------------------------------------------------------------- aliases and presets


def alias_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    """A new name for a stored voice's audio, with presets of its own (no second copy of the audio)."""
    target = find_voice(ctx.storage, request.alias_of, field="alias_of")
    if voice_keys(ctx.storage, request.name):
        raise InvalidInput(f"name: {request.name!r} is a voice with audio of its own; pick another name")
    check_presets(ctx, request.presets)
    settings = VoiceSettings(request.presets or VoicePresets(), alias_of=target.name)
    existed = ctx.storage.exists(voice_settings_key(request.name))
    if existed and not request.overwrite:
        raise _exists_error("alias", request.name)
    if request.overwrite:
        write_voice_settings(ctx.storage, request.name, settings)
    elif not create_alias(ctx.storage, request.name, settings):
        raise _exists_error("alias", request.name)
    return {
        "name": request.name,
        "alias_of": target.name,
        "audio_key": target.audio_key,
        "presets": settings.presets.given(),
        "replaced": existed,
    }


def presets_action(request: VoicesRequest, ctx: WorkerContext) -> dict:
    """Replace a stored voice's (or alias's) presets; ``{}`` clears them."""
    current = read_voice_settings(ctx.storage, request.name)
    if current.alias_of is None:
        find_voice(ctx.storage, request.name, field="name")
    check_presets(ctx, request.presets)
    settings = VoiceSettings(request.presets, alias_of=current.alias_of)
    write_voice_settings(ctx.storage, request.name, settings)
    return {"name": request.name, "alias_of": settings.alias_of, "presets": settings.presets.given()}


def presets_after_upload(request: VoicesRequest, ctx: WorkerContext) -> dict:
    """After a voice's audio is stored: its presets as given (a name that was an alias stops being one)."""
    current = read_voice_settings(ctx.storage, request.name)
    if request.presets is not None:
        write_voice_settings(ctx.storage, request.name, VoiceSettings(request.presets))
        return request.presets.given()
    if current.alias_of is not None:
        ctx.storage.delete(voice_settings_key(request.name))
        return {}
    return current.presets.given()


def check_voice_delete(request: VoicesRequest, ctx: WorkerContext) -> list[str]:
    """The settings key to delete with a voice; refused while aliases still speak with its audio."""
    aliases = aliases_of(ctx.storage, request.name)
    if aliases:
        raise InvalidInput(
            f"name: voice {request.name!r} is the audio of the aliases {', '.join(aliases)}; delete them first"
        )
    key = voice_settings_key(request.name)
    return [key] if ctx.storage.exists(key) else []


def listed_presets(ctx: WorkerContext, name: str) -> dict:
    """A voice's presets as ``list`` shows them (an unreadable settings file shows its problem)."""
    try:
        return {"presets": read_voice_settings(ctx.storage, name).presets.given()}
    except InvalidInput as exc:
        return {"presets": {}, "presets_error": exc.message}


def listed_aliases(ctx: WorkerContext, voices: dict[str, dict]) -> list[dict]:
    """Aliases as ``list`` entries: the audio of the voice they name, their own presets."""
    listed = []
    for name in voice_settings_names(ctx.storage):
        if name in voices:
            continue
        try:
            settings = read_voice_settings(ctx.storage, name)
        except (InvalidInput, NotFound):
            continue
        target = voices.get(settings.alias_of or "")
        if target is None:
            continue  # an alias whose voice went (deleted by hand): not usable, not listed
        listed.append(
            {
                **{key: target[key] for key in ("audio_key", "duration_s", "has_text", "text_key")},
                "name": name,
                "tag": f"[{name}]",
                "alias_of": settings.alias_of,
                "presets": settings.presets.given(),
            }
        )
    return listed
