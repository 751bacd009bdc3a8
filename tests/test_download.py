import base64

import pytest
import requests

from f5worker.dispatch import handle_job
from f5worker.storage.layout import audio_key, timing_key

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
