"""Decoding never opens anything but the bytes it was given.

Playlists and reference-following formats (ffconcat, HLS, SDP, image sequences) are refused before
FFmpeg sees them, pointing at a real file on disk or at a loopback server the test starts (which must
see no request). Every allowed container still decodes. Jobs run through ``handle_job``; each bad
job is followed by a good one.
"""

from __future__ import annotations

import base64

import pytest

from f5worker.dispatch import handle_job
from f5worker.errors import InvalidInput
from f5worker.media.audio import ALLOWED_CONTAINERS, decode_audio, sniff_container
from tests.helpers import QuietHandler, convert_audio, espeak_wav, loopback_server


class Recorder(QuietHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        Recorder.requests.append(self.path)
        self.reply(404)


@pytest.fixture(scope="module")
def loopback():
    with loopback_server(Recorder) as url:
        yield url


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return espeak_wav("Confined decoding of a short sentence.", tmp_path_factory.mktemp("dc") / "speech.wav")


def hostile_inputs(speech, loopback) -> dict[str, bytes]:
    real = str(speech)
    return {
        "ffconcat-absolute": f"ffconcat version 1.0\nfile '{real}'\n".encode(),
        "ffconcat-relative": f"ffconcat version 1.0\nfile {speech.name}\n".encode(),
        "ffconcat-after-id3": b"ID3\x03\x00\x00\x00\x00\x00\x00" + f"ffconcat version 1.0\nfile '{real}'\n".encode(),
        "hls": f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{loopback}/seg.ts\n#EXT-X-ENDLIST\n".encode(),
        "hls-master": f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{loopback}/audio.m3u8\n".encode(),
        "m3u": f"#EXTM3U\n{loopback}/a.wav\n".encode(),
        "pls": f"[playlist]\nFile1={loopback}/a.wav\nNumberOfEntries=1\n".encode(),
        "sdp": (
            f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio {loopback[-5:]} RTP/AVP 0\n"
        ).encode(),
        "png": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "jpeg": b"\xff\xd8\xff\xe0" + bytes(200),
        "html": b"<html><body>not audio</body></html>",
        "file-url": f"file://{real}".encode(),
    }


def test_reference_following_inputs_are_refused_without_touching_disk_or_network(speech, loopback):
    for name, data in hostile_inputs(speech, loopback).items():
        with pytest.raises(InvalidInput) as refused:
            decode_audio(data, 16000, 60, field="audio")
        message = refused.value.message
        assert message.startswith("audio: not decodable audio"), (name, message)
        assert "/tmp" not in message and str(speech.parent) not in message, (name, message)
    assert Recorder.requests == []


def test_stt_and_voices_jobs_refuse_a_concat_file_then_serve_a_good_job(speech, loopback, local_ctx, whisper_engines):
    local_ctx.engines = whisper_engines
    good_audio = base64.b64encode(speech.read_bytes()).decode()
    for index, (name, data) in enumerate(hostile_inputs(speech, loopback).items()):
        encoded = base64.b64encode(data).decode()
        for job_input in (
            {"endpoint": "stt", "audio": encoded},
            {"endpoint": "voices", "action": "upload", "name": f"stolen{index}", "audio": encoded},
        ):
            output = handle_job({"id": f"bad-{name}", "input": job_input}, local_ctx)
            assert output.get("error", "").startswith("invalid_input: "), (name, output)
            assert "/tmp" not in output["error"]
        good = handle_job(
            {
                "id": "good",
                "input": {"endpoint": "voices", "action": "upload", "name": f"good{index}", "audio": good_audio},
            },
            local_ctx,
        )
        assert good.get("audio_key") == f"voices/good{index}.wav", good
    assert Recorder.requests == []
    assert all(key.startswith("voices/good") for key in local_ctx.storage.list_keys("voices/"))


ENCODINGS = {
    "wav": ["-c:a", "pcm_s16le"],
    "flac": [],
    "mp3": [],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus"],
    "m4a": ["-c:a", "aac"],
    "mp4": ["-c:a", "aac"],
    "mov": ["-c:a", "aac"],
    "webm": ["-c:a", "libopus"],
    "mkv": ["-c:a", "flac"],
    "aac": ["-c:a", "aac"],
    "aiff": [],
    "caf": ["-c:a", "pcm_s16le"],
    "w64": ["-c:a", "pcm_s16le"],
    "wma": ["-c:a", "wmav2"],
}


@pytest.mark.parametrize("ext", sorted(ENCODINGS))
def test_every_allowed_container_decodes(speech, tmp_path, ext):
    data = convert_audio(speech, tmp_path / f"speech.{ext}", *ENCODINGS[ext]).read_bytes()
    assert sniff_container(data) in ALLOWED_CONTAINERS
    samples = decode_audio(data, 16000, max_seconds=60)
    assert samples.dtype.name == "float32" and 1.0 < samples.size / 16000 < 5.0
    assert 0.01 < abs(samples).max() <= 1.5


def test_truncated_audio_is_invalid_input_without_paths(speech):
    with pytest.raises(InvalidInput) as refused:
        decode_audio(speech.read_bytes()[:40], 16000, 60)
    assert "/" not in refused.value.message.split("(", 1)[-1]
