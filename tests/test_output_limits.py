"""Every output obeys MAX_INLINE_BYTES, and the text limit holds for the spoken (normalised) text.

Through ``handle_job`` with the tiny F5-TTS and tiny.en, on local storage (over the limit: refused,
nothing stored) and on moto's S3 (over the limit: delivered by URL instead). Each refused job is
followed by a good one.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.settings import Settings
from tests.helpers import espeak_wav, s3_settings_for

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
LIMIT = 64 * 1024
LONG_TEXT = "This sentence keeps the voice talking for a good while longer. " * 12


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return espeak_wav(REFERENCE_TEXT, tmp_path_factory.mktemp("ref") / "narrator.wav").read_bytes()


def with_voice(ctx, reference):
    ctx.storage.put_bytes("voices/narrator.wav", reference)
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    return ctx


@pytest.fixture
def local(tmp_path, engines, reference):
    settings = Settings(
        storage_dir=tmp_path / "storage",
        voice_cache_dir=tmp_path / "cache",
        max_inline_bytes=LIMIT,
        max_text_chars=1000,
    )
    return with_voice(build_context(settings, engines=engines), reference)


@pytest.fixture
def s3(tmp_path, engines, reference, moto_endpoint, bucket):
    settings = s3_settings_for(moto_endpoint, bucket, max_inline_bytes=LIMIT, voice_cache_dir=tmp_path / "cache")
    return with_voice(build_context(settings, engines=engines), reference)


def tts(ctx, job_id="limits", **fields) -> dict:
    return handle_job({"id": job_id, "input": {"endpoint": "tts", "nfe_step": 4, "voice": "narrator", **fields}}, ctx)


def good_job(ctx) -> None:
    output = tts(ctx, job_id="good", text="Short and fine.", output_format="mp3")
    assert "error" not in output, output
    audio = output["audio"]
    assert audio.get("url") or len(base64.b64decode(audio["base64"])) == audio["size_bytes"]


def nothing_stored(ctx, job_id="limits") -> None:
    assert ctx.storage.list_keys(f"outputs/{job_id}/") == []
    assert not ctx.storage.exists(f"results/{job_id}.json")


def test_a_wav_that_cannot_fit_inline_is_refused_before_synthesis(local):
    started = time.perf_counter()
    error = tts(local, text=LONG_TEXT[:900], sample_rate=48000, output_format="wav", return_audio="base64")["error"]
    assert error.startswith("payload_too_large: return_audio: the base64 wav audio (estimated)"), error
    assert "MAX_INLINE_BYTES" in error and time.perf_counter() - started < 5
    nothing_stored(local)
    good_job(local)


def test_an_encoded_file_over_the_limit_is_refused_and_leaves_nothing(local):
    error = tts(local, text=LONG_TEXT[:900], output_format="flac", sample_rate=48000)["error"]
    assert error.startswith("payload_too_large: return_audio: the base64 flac audio"), error
    nothing_stored(local)
    good_job(local)


def test_on_s3_an_over_limit_audio_is_delivered_by_url(s3):
    output = tts(s3, text=LONG_TEXT[:600], output_format="wav", sample_rate=48000, return_audio="both")
    assert "base64" not in output["audio"] and output["audio"]["url"].startswith("http"), output["audio"]
    assert output["audio"]["inline_skipped"].startswith("over MAX_INLINE_BYTES")
    assert output["audio"]["size_bytes"] > LIMIT
    good_job(s3)


def test_timing_files_share_the_inline_budget(local, s3):
    fields = {
        "text": "Hello there, this is fine. " * 6,
        "output_format": "mp3",
        "return_word_timings": True,
        "timing_formats": ["srt", "vtt", "ass", "csv", "json"],
        "max_chars_per_line": 10,
        "max_lines": 1,
        "karaoke": True,
    }
    local.settings = local.settings.model_copy(update={"max_inline_bytes": 1024})
    error = tts(local, **fields, return_audio="base64")["error"]
    assert error.startswith("payload_too_large: "), error
    nothing_stored(local)
    local.settings = local.settings.model_copy(update={"max_inline_bytes": LIMIT})
    good_job(local)
    # S3: measure the files and the rest of the response, then set the limit between the two
    as_text = tts(s3, **fields, delivery="text", return_audio="url", seed=1)
    files_size = sum(len(entry["text"].encode()) for entry in as_text["timings"]["files"].values())
    by_url = len(json.dumps(tts(s3, **fields, delivery="url", return_audio="url", seed=1)).encode())
    assert files_size > by_url + 256, (files_size, by_url)  # files alone overflow; the URL response fits
    s3.settings = s3.settings.model_copy(update={"max_inline_bytes": by_url + 256})
    output = tts(s3, **fields, delivery="text", return_audio="url", seed=1)
    assert all("url" in entry and "text" not in entry for entry in output["timings"]["files"].values()), output


def test_stt_files_obey_the_limit(local, tmp_path):
    local.settings = local.settings.model_copy(update={"max_inline_bytes": 1024})
    speech = espeak_wav(
        "One two three four five six seven eight nine ten eleven twelve thirteen fourteen.", tmp_path / "s.wav"
    )
    job = {
        "endpoint": "stt",
        "audio": base64.b64encode(speech.read_bytes()).decode(),
        "timing_formats": ["srt", "vtt", "ass", "csv", "json"],
    }
    error = handle_job({"id": "stt-limit", "input": job}, local)["error"]
    assert error.startswith("payload_too_large: delivery: the timing files"), error
    nothing_stored(local, "stt-limit")
    local.settings = local.settings.model_copy(update={"max_inline_bytes": LIMIT})
    assert "error" not in handle_job({"id": "stt-limit", "input": job}, local)


@pytest.mark.parametrize("text", ["1" * 300, "$1,000,000 and 12,345,678 people; " * 15, "Dr. 1999 " * 110])
def test_the_text_limit_holds_after_normalisation(local, text):
    assert len(text) <= local.settings.max_text_chars
    error = tts(local, text=text)["error"]
    assert error.startswith("invalid_input: text: spelt out for speech"), error
    assert "MAX_TEXT_CHARS" in error
    good_job(local)
