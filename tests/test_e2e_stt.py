"""``stt`` end to end through ``--rp_serve_api`` with S3: transcribe, then ``result`` and ``download`` its SRT."""

import base64

import requests
import srt

from tests.helpers import espeak_wav
from tests.piper_speech import speak


def test_stt_then_result_then_download_srt(s3_worker, tmp_path):
    speech = espeak_wav("Bring the blue box to the kitchen table before noon.", tmp_path / "speech.wav")
    audio = base64.b64encode(speech.read_bytes()).decode()
    output = s3_worker.output({"endpoint": "stt", "audio": audio, "language": "en"})
    job_id = output["job_id"]
    assert output["words"] and output["engine"]["name"] == "whisperx"
    via_url = requests.get(output["files"]["srt"]["url"], timeout=10).text
    captions = list(srt.parse(via_url))
    assert captions[0].start.total_seconds() == output["words"][0]["start"]

    stored = s3_worker.output({"endpoint": "result", "job_id": job_id})
    assert stored["endpoint"] == "stt" and stored["output"]["text"] == output["text"]

    download = s3_worker.output({"endpoint": "download", "job_id": job_id, "file": "srt", "delivery": "text"})
    assert download["text"] == via_url
    as_base64 = s3_worker.output({"endpoint": "download", "job_id": job_id, "file": "srt", "delivery": "base64"})
    assert base64.b64decode(as_base64["base64"]).decode() == via_url


def test_stt_bad_audio_then_the_worker_still_serves(s3_worker):
    error = s3_worker.error({"endpoint": "stt", "audio": base64.b64encode(b"%PDF-1.7 not audio").decode()})
    assert error.startswith("invalid_input: audio: not decodable audio")
    assert s3_worker.output({"endpoint": "health"})["status"] == "ok"


def piper_wav_base64(text: str) -> str:
    """Natural speech (the Piper voice) as a base64 16 kHz WAV, as a caller would send it."""
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, speak(text, noise_scale=0.0).audio, 16000, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode()


def test_stt_verify_passes_the_script_and_names_what_a_corrupted_text_adds_or_lacks(s3_worker):
    spoken = "The pilot announced that the flight would land twenty minutes early."
    audio = piper_wav_base64(spoken)
    job = {"endpoint": "stt", "audio": audio, "verify": True, "timing_formats": ["srt"]}

    clean = s3_worker.output({**job, "text": spoken})
    check = clean["script_check"]
    assert check["verdict"] == "pass", check["reasons"]
    assert not check["missing"] and not check["extra"] and not check["repeated"]
    assert [w["word"] for w in clean["words"]] == spoken.split()
    assert all(0 < w["confidence"] <= 1 for w in clean["words"])
    assert clean["metrics"]["verify_ms"] > 0

    adds = spoken.replace("the flight", "the delayed flight")  # the text has a word the audio lacks
    lacking = s3_worker.output({**job, "text": adds})["script_check"]
    assert lacking["verdict"] == "fail"
    assert [(f["word"], f["position"]) for f in lacking["missing"]] == [("delayed", 5)]
    assert lacking["missing"][0]["start"] is not None

    lacks = spoken.replace(" twenty minutes", " minutes")  # the audio has a word the text lacks
    extra = s3_worker.output({**job, "text": lacks})["script_check"]
    assert extra["verdict"] == "fail"
    assert [(f["word"], f["position"]) for f in extra["extra"]] == [("twenty", 7)]
    assert extra["extra"][0]["start"] > 0


def test_stt_verify_without_text_is_refused(s3_worker):
    error = s3_worker.error({"endpoint": "stt", "audio": piper_wav_base64("Hello there."), "verify": True})
    assert error.startswith("invalid_input: verify: checks the audio against 'text'")
