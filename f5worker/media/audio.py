"""Audio decoding: any common format in, float32 mono at the rate an engine wants out.

Decoding is confined to the bytes the caller sent. It runs in memory with PyAV (FFmpeg's libraries)
on a container chosen from the bytes' own signature out of an allow-list, so FFmpeg never probes
its way into a demuxer that follows references (concat, HLS, image sequences, playlists) and no
protocol is ever opened: the input is a Python buffer, ``protocol_whitelist`` names nothing, and
the mp4 demuxer's external data references are off. No temp file is written, so no error can show
a path either.

Nothing decoded is trusted to keep its shape: a stream whose sample rate, channel layout or sample
format changes mid-way (two mp3s of different rates joined, AAC mono then stereo) is converted frame
by frame, each run of frames through a resampler set up for it; any decoder failure, whatever
exception PyAV raises, is ``invalid_input`` naming the field; non-finite samples (NaN, inf) become
silence and the result is clipped to full scale, so no engine downstream sees a value it cannot use.
"""

from __future__ import annotations

import io
import logging

import av
import numpy as np

from ..errors import InvalidInput, PayloadTooLarge

log = logging.getLogger(__name__)

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
    except Exception as exc:  # PyAV raises ValueError, TypeError, ... on hostile streams: all mean the same
        log.warning("decoder failed on %s input: %s: %s", container_name, type(exc).__name__, str(exc)[:200])
        raise InvalidInput(
            f"{field}: not decodable audio ({ALLOWED_CONTAINERS[container_name]}: the decoder failed: "
            f"{type(exc).__name__})"
        ) from None
    if samples.size == 0:
        raise InvalidInput(f"{field}: not decodable audio (no audio stream found)")
    if samples.size / sample_rate > max_seconds:
        raise PayloadTooLarge(f"{field}: audio is longer than the {max_seconds:g} s limit (MAX_AUDIO_S)")
    return finite_samples(samples)


def finite_samples(samples: np.ndarray) -> np.ndarray:
    """NaN and infinite samples as silence, everything within full scale (-1..1), float32."""
    samples = np.asarray(samples, dtype=np.float32)
    samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(samples, -1.0, 1.0, out=samples)


def _decode(data: bytes, container_name: str, sample_rate: int, wanted: int) -> np.ndarray:
    parts: list[np.ndarray] = []
    total = 0
    with av.open(io.BytesIO(data), mode="r", format=container_name, options=_DEMUXER_OPTIONS) as container:
        if container.format.name.split(",")[0] != container_name or not container.streams.audio:
            return np.zeros(0, dtype=np.float32)
        stream = container.streams.audio[0]
        resampler, setup = None, None
        for frame in container.decode(stream):
            frame_setup = (frame.format.name, frame.layout.name, frame.sample_rate)
            if frame_setup != setup:  # the stream changed shape mid-way: finish the old run, start anew
                tail = _flushed(resampler)
                parts.extend(tail)
                total += sum(part.size for part in tail)
                resampler, setup = av.AudioResampler(format="flt", layout="mono", rate=sample_rate), frame_setup
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
                total += parts[-1].size
            if total >= wanted:
                break
        else:
            parts.extend(_flushed(resampler))
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts)[:wanted], dtype=np.float32)


def _flushed(resampler: av.AudioResampler | None) -> list[np.ndarray]:
    """What a resampler still holds (its filter's tail) once its run of frames has ended."""
    if resampler is None:
        return []
    return [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
