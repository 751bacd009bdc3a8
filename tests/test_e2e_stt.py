"""``stt`` end to end through ``--rp_serve_api`` with S3: transcribe, then ``result`` and ``download`` its SRT."""

import base64

import requests
import srt

from tests.helpers import espeak_wav


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
