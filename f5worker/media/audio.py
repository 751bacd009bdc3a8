"""Audio decoding: any common format in, float32 mono at the rate an engine wants out.

Decoding is confined to the bytes the caller sent. It runs in memory with PyAV (FFmpeg's libraries)
on a container chosen from the bytes' own signature out of an allow-list, so FFmpeg never probes
its way into a demuxer that follows references (concat, HLS, image sequences, playlists) and no
protocol is ever opened: the input is a Python buffer, ``protocol_whitelist`` names nothing, and
the mp4 demuxer's external data references are off. No temp file is written, so no error can show
a path either.
"""

from __future__ import annotations

import io

import av
import numpy as np

from ..errors import InvalidInput, PayloadTooLarge

# FFmpeg demuxer name -> what callers call it; every other demuxer is refused.
ALLOWED_CONTAINERS = {
    "wav": "WAV",
    "w64": "Wave64",
    "flac": "FLAC",
    "ogg": "Ogg (Vorbis, Opus, FLAC)",
    "mp3": "MP3",
    "aac": "AAC (ADTS)",
    "mov": "MP4 / M4A / MOV",
    "matroska": "WebM / Matroska",
    "aiff": "AIFF",
    "caf": "CAF",
    "amr": "AMR",
    "asf": "WMA / ASF",
}
# Nothing may be opened beside the buffer (an empty whitelist would mean "no restriction").
_DEMUXER_OPTIONS = {"protocol_whitelist": "none", "enable_drefs": "0", "use_absolute_path": "0"}
_W64_GUID = bytes.fromhex("726966662e91cf11a5d628db04c10000")


def _skip_id3(data: bytes) -> bytes:
    """The bytes after a leading ID3v2 tag (MP3s carry one; so, sometimes, do AAC and FLAC files)."""
    if len(data) < 10 or data[:3] != b"ID3":
        return data
    size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
    return data[10 + size + (10 if data[5] & 0x10 else 0) :]


def sniff_container(data: bytes) -> str | None:
    """The allowed demuxer for ``data`` by its signature, or None (text, playlists, images, anything else)."""
    head = data[:16]
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head == _W64_GUID:
        return "w64"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"caff":
        return "caf"
    if head[:5] == b"#!AMR":
        return "amr"
    if head[:4] == b"\x30\x26\xb2\x75":
        return "asf"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[4:8] in (b"ftyp", b"moov"):
        return "mov"
    body = _skip_id3(data)
    if body[:4] == b"fLaC":
        return "flac"
    if len(body) >= 2 and body[0] == 0xFF and body[1] & 0xE0 == 0xE0:
        return "aac" if body[1] & 0x06 == 0 else "mp3"  # ADTS has layer bits 00; MPEG audio never does
    return "mp3" if data[:3] == b"ID3" else None


def decode_audio(data: bytes, sample_rate: int, max_seconds: float, field: str = "audio") -> np.ndarray:
    """Decode ``data`` to mono float32 at ``sample_rate``; refuse non-audio and over-long input clearly."""
    if not data:
        raise InvalidInput(f"{field}: empty audio")
    container_name = sniff_container(data)
    if container_name is None:
        raise InvalidInput(f"{field}: not decodable audio (not one of: {', '.join(ALLOWED_CONTAINERS.values())})")
    # Decode one second past the limit: enough to know it is too long without decoding hours.
    wanted = int((max_seconds + 1) * sample_rate)
    try:
        samples = _decode(data, container_name, sample_rate, wanted)
    except av.FFmpegError as exc:
        reason = (getattr(exc, "strerror", None) or type(exc).__name__).strip()[:200]
        raise InvalidInput(f"{field}: not decodable audio ({ALLOWED_CONTAINERS[container_name]}: {reason})") from None
    if samples.size == 0:
        raise InvalidInput(f"{field}: not decodable audio (no audio stream found)")
    if samples.size / sample_rate > max_seconds:
        raise PayloadTooLarge(f"{field}: audio is longer than the {max_seconds:g} s limit (MAX_AUDIO_S)")
    return samples


def _decode(data: bytes, container_name: str, sample_rate: int, wanted: int) -> np.ndarray:
    parts: list[np.ndarray] = []
    total = 0
    with av.open(io.BytesIO(data), mode="r", format=container_name, options=_DEMUXER_OPTIONS) as container:
        if container.format.name.split(",")[0] != container_name or not container.streams.audio:
            return np.zeros(0, dtype=np.float32)
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        frames = container.decode(stream)
        for frame in _with_flush(frames):
            for out in resampler.resample(frame):
                block = out.to_ndarray().reshape(-1)
                parts.append(block)
                total += block.size
            if total >= wanted:
                break
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts)[:wanted], dtype=np.float32)


def _with_flush(frames):
    """The decoded frames, then ``None`` so the resampler hands over what it still holds."""
    yield from frames
    yield None
