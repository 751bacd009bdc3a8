import base64
import json

import pytest
import requests

from f5worker.dispatch import handle_job
from f5worker.storage.layout import audio_key, result_key, timing_key
from f5worker.storage.results import save_result

SRT = "1\n00:00:00,000 --> 00:00:01,000\nHello\n\n"


def download(ctx, **fields):
    return handle_job({"id": "d", "input": {"endpoint": "download", "job_id": "job-1", **fields}}, ctx)


@pytest.fixture
def stored(request):
    ctx = request.getfixturevalue(request.param)
    ctx.storage.put_bytes(timing_key("job-1", "srt"), SRT.encode())
    ctx.storage.put_bytes(audio_key("job-1", "flac"), b"fLaC-bytes")
    return ctx


@pytest.mark.parametrize("stored", ["local_ctx"], indirect=True)
def test_local_defaults_to_base64_and_offers_text(stored):
    output = download(stored, file="srt")
    assert base64.b64decode(output["base64"]).decode() == SRT
    assert output["content_type"] == "application/x-subrip" and output["size_bytes"] == len(SRT)
    assert download(stored, file="srt", delivery="text")["text"] == SRT


@pytest.mark.parametrize("stored", ["local_ctx", "s3_ctx"], indirect=True)
def test_audio_is_found_whatever_its_extension(stored):
    output = download(stored, file="audio", delivery="base64")
    assert output["content_type"] == "audio/flac"
    assert base64.b64decode(output["base64"]) == b"fLaC-bytes"


@pytest.mark.parametrize("stored", ["s3_ctx"], indirect=True)
def test_s3_defaults_to_a_presigned_url_that_serves_the_file(stored):
    output = download(stored, file="srt")
    assert set(output) >= {"job_id", "file", "content_type", "size_bytes", "url"}
    assert requests.get(output["url"], timeout=10).text == SRT


@pytest.mark.parametrize("stored", ["local_ctx"], indirect=True)
def test_inline_delivery_over_the_limit_is_payload_too_large(stored):
    stored.settings = stored.settings.model_copy(update={"max_inline_bytes": 1024})
    stored.storage.put_bytes(timing_key("job-1", "json"), b"{}" + b" " * 2000)
    output = download(stored, file="json", delivery="text")
    assert output["error"].startswith("payload_too_large: file: json is 2002 bytes")


def _result(ctx, body: bytes) -> None:
    ctx.storage.put_bytes(result_key("job-1"), body)


@pytest.mark.parametrize("stored", ["local_ctx", "s3_ctx"], indirect=True)
def test_a_timing_file_that_is_not_utf8_is_a_storage_error_naming_it(stored):
    stored.storage.put_bytes(timing_key("job-1", "srt"), "1\n00:00:00,000 --> 00:00:01,000\nCafé\n".encode("cp1252"))
    error = download(stored, file="srt", delivery="text")["error"]
    assert error == "storage_error: stored srt file outputs/job-1/timings.srt is not UTF-8 text (byte 35)"
    assert "base64" in download(stored, file="srt", delivery="base64")  # the bytes themselves still come back


BROKEN_RESULTS = {
    "corrupt": b"\x00garbage",
    "cut off": json.dumps({"job_id": "job-1", "endpoint": "tts", "created_at": "x", "output": {}}).encode()[:-9],
    "deep": b'{"job_id": "job-1", "endpoint": "tts", "created_at": "x", "output": '
    + b"[" * 50_000
    + b"]" * 50_000
    + b"}",
    "not an object": b"[]",
    "another job's": json.dumps({"job_id": "job-2", "endpoint": "tts", "created_at": "x", "output": {}}).encode(),
    "output not an object": json.dumps({"job_id": "job-1", "endpoint": "tts", "created_at": "x", "output": 3}).encode(),
}


@pytest.mark.parametrize("body", BROKEN_RESULTS.values(), ids=BROKEN_RESULTS.keys())
@pytest.mark.parametrize("stored", ["local_ctx"], indirect=True)
def test_a_broken_stored_result_is_a_storage_error_for_result_and_download(stored, body):
    _result(stored, body)
    for output in (
        download(stored, file="srt", delivery="text"),
        handle_job({"id": "r", "input": {"endpoint": "result", "job_id": "job-1"}}, stored),
    ):
        assert output["error"].startswith("storage_error: stored result results/job-1.json "), output
    assert handle_job({"id": "h", "input": {"endpoint": "health"}}, stored)["status"] == "ok"


@pytest.mark.parametrize(
    ("file", "named"),
    [
        ("srt", {"files": {"srt": {"key": "outputs/job-1/timings.exe"}}}),
        ("srt", {"files": {"srt": {"key": "outputs/job-1/timings.vtt"}}}),  # another format's file
        ("srt", {"timings": {"files": {"srt": {"key": "outputs/job-2/timings.srt"}}}}),  # another job's
        ("audio", {"audio": {"key": "outputs/job-1/audio.aiff"}}),
        ("audio", {"audio": {"key": "outputs/job-1/audio.x y.wav"}}),
        ("audio", {"audio": {"key": ["outputs/job-1/audio.flac"]}}),
        ("audio", {"audio": {"key": "voices/narrator.wav"}}),
    ],
)
@pytest.mark.parametrize("stored", ["local_ctx"], indirect=True)
def test_a_record_naming_a_file_that_is_not_one_of_the_jobs_is_not_trusted(stored, file, named):
    save_result(stored.storage, "job-1", "tts", named)
    error = download(stored, file=file, delivery="base64")["error"]
    assert error == f"storage_error: stored result results/job-1.json names a {file} file that is not one of the job's"


@pytest.mark.parametrize("stored", ["local_ctx", "s3_ctx"], indirect=True)
def test_an_audio_key_with_a_space_is_not_found_by_name(stored):
    """Objects placed by hand under the job's prefix: only outputs/<id>/audio.<format> is its audio."""
    stored.storage.delete(audio_key("job-1", "flac"))
    if stored.storage.backend == "local":
        (stored.storage.root / "outputs/job-1/audio.x y.wav").write_bytes(b"RIFF")
        (stored.storage.root / "outputs/job-1/audio.wav\n").write_bytes(b"RIFF")
    else:
        for key in ("outputs/job-1/audio.x y.wav", "outputs/job-1/audio.wav "):  # moto refuses a newline
            stored.storage.client.put_object(Bucket=stored.storage.bucket, Key=key, Body=b"RIFF")
    assert download(stored, file="audio", delivery="base64")["error"] == "not_found: job_id 'job-1' has no stored audio"
