"""``tts`` end to end through ``--rp_serve_api`` with S3 and the tiny F5-TTS: voice upload, speech with
timings, then ``result`` and ``download`` of the audio and the SRT."""

import base64
import io

import requests
import soundfile
import srt

from tests.helpers import espeak_wav

TEXT = "Welcome back. Today we test the whole pipeline, from text to timed subtitles."


def test_upload_voice_then_tts_with_timings_then_result_and_downloads(s3_worker, tmp_path):
    reference = espeak_wav("The narrator speaks clearly for the reference clip.", tmp_path / "ref.wav")
    uploaded = s3_worker.output(
        {
            "endpoint": "voices",
            "action": "upload",
            "name": "e2e-narrator",
            "audio": base64.b64encode(reference.read_bytes()).decode(),
            "text": "The narrator speaks clearly for the reference clip.",
        }
    )
    assert uploaded["audio_key"] == "voices/e2e-narrator.wav"

    output = s3_worker.output(
        {
            "endpoint": "tts",
            "text": TEXT,
            "voice": "e2e-narrator",
            "nfe_step": 4,
            "seed": 3,
            "return_word_timings": True,
            "output_format": "flac",
        }
    )
    job_id = output["job_id"]
    audio = requests.get(output["audio"]["url"], timeout=10).content
    samples, rate = soundfile.read(io.BytesIO(audio))
    assert rate == 24000 and len(samples) > 0
    assert [w["word"] for w in output["timings"]["words"]] == TEXT.split()
    subtitles = list(srt.parse(requests.get(output["timings"]["files"]["srt"]["url"], timeout=10).text))
    assert subtitles and " ".join(s.content.replace("\n", " ") for s in subtitles) == TEXT

    stored = s3_worker.output({"endpoint": "result", "job_id": job_id})
    assert stored["endpoint"] == "tts" and stored["output"]["params"]["seed"] == 3
    audio_download = s3_worker.output({"endpoint": "download", "job_id": job_id, "file": "audio", "delivery": "base64"})
    assert base64.b64decode(audio_download["base64"]) == audio
    assert audio_download["content_type"] == "audio/flac"
    srt_download = s3_worker.output({"endpoint": "download", "job_id": job_id, "file": "srt", "delivery": "text"})
    assert list(srt.parse(srt_download["text"])) == subtitles


def test_tts_errors_over_http_then_the_worker_still_serves(s3_worker):
    assert s3_worker.error({"endpoint": "tts", "text": "hi"}).startswith("invalid_input: voice: give either")
    assert s3_worker.error({"text": "hi", "voice": "nobody"}).startswith("not_found: voice: no stored voice")
    assert s3_worker.output({"endpoint": "health"})["engines"]["tts"]["loaded"] is True
