"""What is kept beside the stored voices: pronunciation lexicons, and each voice's presets or alias.

- ``lexicons/<name>.json``: ``{"entries": {"GIF": "jif", ...}}``, a named set of pronunciations
  (rules: :mod:`f5worker.media.pronunciations`) that a voice's presets or a job's ``lexicon`` picks.
- ``voice-settings/<name>.json``: ``{"alias_of": null | "<voice>", "presets": {...}}``, the defaults a
  voice speaks with (a job's own fields win), and for an alias the voice whose audio it speaks with
  (an alias has no audio of its own: a new name with other presets costs no second copy).

Both are small JSON objects written whole (atomic on both backends); a new name is created by
exactly one of several racing uploads (:func:`create_once`). Files edited by hand are checked
again when read, so a broken one fails the job that uses it with a message naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .errors import InvalidInput, NotFound
from .media.pronunciations import Lexicon, lexicon_problem
from .storage import Storage
from .storage.layout import LEXICON_PREFIX, VOICE_NAME_PATTERN, VOICE_SETTINGS_PREFIX, lexicon_key, voice_settings_key
from .voices import VOICE_NAME

JSON_TYPE = "application/json"
StoredName = Annotated[str, StringConstraints(pattern=VOICE_NAME_PATTERN)]


class VoicePresets(BaseModel):
    """A stored voice's defaults; each one applies only where the job leaves that field out."""

    model_config = ConfigDict(extra="forbid", strict=True)

    speed: float | None = Field(None, ge=0.3, le=3.0, description="Speaking speed.")
    nfe_step: int | None = Field(None, ge=4, le=64, description="Denoising steps.")
    cfg_strength: float | None = Field(None, ge=0.0, le=10.0, description="Classifier-free guidance strength.")
    remove_silence: bool | None = Field(None, description="Shorten long silences in the output.")
    lexicon: StoredName | None = Field(None, description="A stored lexicon: its pronunciations apply to the voice.")
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")] | None = Field(
        None, description="What the voice speaks (e.g. 'en'): tells word timing which language to expect."
    )

    def given(self) -> dict:
        """Only the presets that are set."""
        return self.model_dump(exclude_none=True)


@dataclass(frozen=True)
class VoiceSettings:
    presets: VoicePresets
    alias_of: str | None = None

    def as_json(self) -> bytes:
        return json.dumps({"alias_of": self.alias_of, "presets": self.presets.given()}, sort_keys=True).encode()


NO_SETTINGS = VoiceSettings(VoicePresets())


def create_once(storage: Storage, key: str, data: bytes, content_type: str) -> bool:
    """Exactly one of N racing uploads of a new name creates it: O_EXCL-style link on disk, PutObject
    If-None-Match on S3. A store that ignores If-None-Match (B2 may) is caught by reading the ETag back."""
    if not storage.create_exclusive(key, data, content_type=content_type):
        return False
    if storage.backend == "s3":
        etag = storage.fingerprint(key).rpartition("-")[2]
        return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    return True


def _names(storage: Storage, prefix: str) -> list[str]:
    names = []
    for key in storage.list_keys(prefix):
        name, dot, ext = key.removeprefix(prefix).rpartition(".")
        if dot and ext == "json" and "/" not in name and name:
            names.append(name)
    return sorted(names)


def _read_json(storage: Storage, key: str, what: str, field: str) -> dict:
    try:
        document = json.loads(storage.get_bytes(key).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"{field}: {what} {key} is unreadable ({exc.__class__.__name__})") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{field}: {what} {key} is unreadable (not a JSON object)")
    return document


# --------------------------------------------------------------------------- lexicons


def list_lexicons(storage: Storage) -> list[str]:
    return _names(storage, LEXICON_PREFIX)


def lexicon_exists(storage: Storage, name: str) -> bool:
    return storage.exists(lexicon_key(name))


def read_lexicon(storage: Storage, name: str, field: str = "lexicon") -> Lexicon:
    """A stored lexicon, checked as a request's entries are; ``not_found`` naming ``field`` when absent."""
    key = lexicon_key(name)
    try:
        document = _read_json(storage, key, "stored lexicon", field)
    except NotFound:
        raise NotFound(f"{field}: no stored lexicon named {name!r} (action 'lexicons' lists them)") from None
    entries = document.get("entries")
    problem = lexicon_problem(entries)
    if problem:
        raise InvalidInput(f"{field}: stored lexicon {name!r} is unusable: {problem}")
    return Lexicon(entries)


def lexicon_document(entries: dict[str, str]) -> bytes:
    return json.dumps({"entries": entries}, ensure_ascii=False, sort_keys=True).encode()


def write_lexicon(storage: Storage, name: str, entries: dict[str, str], overwrite: bool) -> bool:
    """Store a lexicon whole; False when the name exists (or another upload created it first) and
    ``overwrite`` is not set. Returns True when written."""
    data = lexicon_document(entries)
    if overwrite:
        storage.put_bytes(lexicon_key(name), data, content_type=JSON_TYPE)
        return True
    return create_once(storage, lexicon_key(name), data, JSON_TYPE)


# --------------------------------------------------------------------------- voice presets and aliases


def read_voice_settings(storage: Storage, name: str) -> VoiceSettings:
    """A voice's presets and alias target; no file: no presets and not an alias."""
    key = voice_settings_key(name)
    try:
        document = _read_json(storage, key, "voice settings", "voice")
    except NotFound:
        return NO_SETTINGS
    alias_of = document.get("alias_of")
    try:
        presets = VoicePresets.model_validate(document.get("presets") or {})
    except ValidationError as exc:
        raise InvalidInput(f"voice: voice settings {key} are unusable ({exc.error_count()} problems)") from None
    if alias_of is not None and not (isinstance(alias_of, str) and VOICE_NAME.match(alias_of)):
        raise InvalidInput(f"voice: voice settings {key} are unusable (alias_of is not a voice name)")
    return VoiceSettings(presets, alias_of)


def voice_settings_names(storage: Storage) -> list[str]:
    return _names(storage, VOICE_SETTINGS_PREFIX)


def aliases_of(storage: Storage, name: str) -> list[str]:
    """Names that are aliases of the voice ``name`` (each would lose its audio if it went)."""
    found = []
    for alias in voice_settings_names(storage):
        try:
            if read_voice_settings(storage, alias).alias_of == name:
                found.append(alias)
        except (InvalidInput, NotFound):
            continue
    return found


def write_voice_settings(storage: Storage, name: str, settings: VoiceSettings) -> None:
    storage.put_bytes(voice_settings_key(name), settings.as_json(), content_type=JSON_TYPE)


def create_alias(storage: Storage, name: str, settings: VoiceSettings) -> bool:
    """A new alias by exactly one of several racing uploads; False when the name was taken."""
    return create_once(storage, voice_settings_key(name), settings.as_json(), JSON_TYPE)
