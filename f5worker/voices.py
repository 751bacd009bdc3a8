"""Voices: reference audio plus its reference text, stored under ``voices/`` and cached on local disk.

A warm worker must not fetch the same voice for every job, and N jobs arriving together for an
uncached voice must cause one download, not N (the earlier worker's 403s came from exactly that).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pysubs2
from filelock import FileLock, Timeout

from .errors import InvalidInput, NotFound, StorageError
from .files import atomic_write, sha256_file
from .storage import Storage
from .storage.layout import VOICE_AUDIO_EXTENSIONS, VOICE_NAME_PATTERN
from .storage.records import read_stored_bytes

log = logging.getLogger(__name__)
VOICE_TEXT_EXTENSIONS = ("txt", "json", "srt", "vtt")
VOICE_NAME = re.compile(VOICE_NAME_PATTERN)  # always fullmatch: "$" alone lets "name\n" through
MAX_TEXT_BYTES = 1024 * 1024  # a stored reference text (an .srt transcript of 12 s is a few hundred bytes)


@dataclass(frozen=True)
class StoredVoice:
    name: str
    audio_key: str
    text_key: str | None


def _voice_files(storage: Storage, prefix: str) -> dict[str, dict[str, str]]:
    """{name: {extension: key}} for the voice files under ``prefix``."""
    found: dict[str, dict[str, str]] = {}
    for key in storage.list_keys(prefix):
        name, _, ext = key.removeprefix("voices/").rpartition(".")
        if name and "/" not in name and ext in VOICE_AUDIO_EXTENSIONS + VOICE_TEXT_EXTENSIONS:
            found.setdefault(name, {})[ext] = key
    return found


def _stored(name: str, files: dict[str, str]) -> StoredVoice | None:
    audio = next((files[ext] for ext in VOICE_AUDIO_EXTENSIONS if ext in files), None)
    text = next((files[ext] for ext in VOICE_TEXT_EXTENSIONS if ext in files), None)
    return StoredVoice(name, audio, text) if audio else None


def list_voices(storage: Storage) -> list[StoredVoice]:
    voices = (_stored(name, files) for name, files in sorted(_voice_files(storage, "voices/").items()))
    return [voice for voice in voices if voice and VOICE_NAME.fullmatch(voice.name)]


def malformed_voice_keys(storage: Storage) -> list[str]:
    """Objects under ``voices/`` that no voice name can reach (placed in the bucket by hand): list
    reports them and ``delete`` with ``key`` removes them, instead of one of them breaking every list."""
    found = []
    for key in storage.list_keys("voices/"):
        name, _, ext = key.removeprefix("voices/").rpartition(".")
        if (
            "/" in key.removeprefix("voices/")
            or not VOICE_NAME.fullmatch(name)
            or ext not in VOICE_AUDIO_EXTENSIONS + VOICE_TEXT_EXTENSIONS
        ):
            found.append(key)
    return found


def voice_keys(storage: Storage, name: str) -> list[str]:
    """Every stored file of one voice (audio and text, any extension)."""
    return sorted(_voice_files(storage, f"voices/{name}.").get(name, {}).values())


def find_voice(storage: Storage, name: str, field: str = "voice") -> StoredVoice:
    voice = _stored(name, _voice_files(storage, f"voices/{name}.").get(name, {}))
    if voice is None:
        raise NotFound(f"{field}: no stored voice named {name!r}")
    return voice


def parse_reference_text(data: bytes, ext: str) -> str:
    """Reference text from .txt, .json (``text`` field) or an .srt/.vtt transcript, as plain text."""
    text = data.decode("utf-8-sig")
    if ext == "json":
        document = json.loads(text)
        value = document.get("text") if isinstance(document, dict) else None
        if not isinstance(value, str):
            raise ValueError("JSON reference text needs a string 'text' field")
        text = value
    elif ext in ("srt", "vtt"):
        subs = pysubs2.SSAFile.from_string(text, format_=ext)
        text = " ".join(event.plaintext.replace("\n", " ") for event in subs)
    return " ".join(text.split())


def read_reference_text(storage: Storage, voice: StoredVoice) -> str | None:
    if voice.text_key is None:
        return None
    try:
        data = read_stored_bytes(storage, voice.text_key, "reference text", MAX_TEXT_BYTES)
        text = parse_reference_text(data, voice.text_key.rpartition(".")[2])
    except (ValueError, RecursionError, pysubs2.exceptions.Pysubs2Error) as exc:
        raise InvalidInput(f"voice: reference text {voice.text_key} is unreadable ({exc})") from None
    return text or None


class VoiceCache:
    """Local copies of stored voice files, checked against the bucket's fingerprint and their own hash."""

    def __init__(self, storage: Storage, root: Path, lock_timeout_s: float = 120.0):
        self.storage = storage
        self.root = Path(root)
        self.lock_timeout_s = lock_timeout_s
        self.downloads = 0

    def fetch(self, key: str) -> Path:
        dest = self.root / key
        marker = dest.with_name(dest.name + ".cached")
        remote = self.storage.fingerprint(key)
        if self._is_current(dest, marker, remote):
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(dest) + ".lock", timeout=self.lock_timeout_s):
                if self._is_current(dest, marker, remote):
                    return dest  # another job fetched it while we waited
                self.storage.download_file(key, dest)
                atomic_write(marker, f"{remote}\n{sha256_file(dest)}".encode())
                self.downloads += 1
                log.info("voice cache: fetched %s", key)
        except Timeout:
            raise StorageError(f"timed out waiting for another job to fetch {key}") from None
        except OSError as exc:  # a full or broken cache disk: leave no half-cached voice behind
            dest.unlink(missing_ok=True)
            marker.unlink(missing_ok=True)
            raise StorageError(f"caching {key} on local disk failed: {exc.strerror or exc}") from exc
        return dest

    @staticmethod
    def _is_current(dest: Path, marker: Path, remote: str) -> bool:
        """Same object as the bucket's, and not damaged on disk since (a corrupted copy is fetched again)."""
        if not (dest.is_file() and marker.is_file()):
            return False
        recorded_remote, _, recorded_hash = marker.read_text(errors="replace").partition("\n")
        return recorded_remote == remote and recorded_hash == sha256_file(dest)
