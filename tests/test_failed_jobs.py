"""A failed job leaves nothing, and one job id means one set of outputs.

Through ``handle_job`` with the tiny F5-TTS and tiny.en (no Google credentials: a real worker
without Google), on local disk and on moto's S3. Each failing case is followed by a good job.
"""

from __future__ import annotations

import time

import pytest

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.endpoints import tts as tts_endpoint
from f5worker.errors import StorageError
from f5worker.settings import Settings
from tests.helpers import espeak_wav, s3_settings_for

REFERENCE_TEXT = "This is the reference voice that the tests clone today."


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return espeak_wav(REFERENCE_TEXT, tmp_path_factory.mktemp("ref") / "narrator.wav").read_bytes()


@pytest.fixture(params=["local", "s3"])
def ctx(request, tmp_path, engines, reference):
    if request.param == "local":
        settings = Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache")
    else:
        endpoint, bucket = request.getfixturevalue("moto_endpoint"), request.getfixturevalue("bucket")
        settings = s3_settings_for(endpoint, bucket, voice_cache_dir=tmp_path / "cache")
    ctx = build_context(settings, engines=engines)
    ctx.storage.put_bytes("voices/narrator.wav", reference)
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    return ctx


def run(ctx, job_id: str, **fields) -> dict:
    job = {"endpoint": "tts", "nfe_step": 4, "voice": "narrator", "return_audio": "base64", **fields}
    return handle_job({"id": job_id, "input": job}, ctx)


def download(ctx, job_id: str, file: str) -> dict:
    delivery = "text" if file != "audio" else "base64"
    return handle_job(
        {"id": "dl", "input": {"endpoint": "download", "job_id": job_id, "file": file, "delivery": delivery}}, ctx
    )


def good_job(ctx) -> None:
    assert "error" not in run(ctx, "good", text="All good."), "a good job must follow"


def test_a_missing_timing_engine_is_found_before_synthesis(ctx, monkeypatch):
    calls = []
    monkeypatch.setattr(type(ctx.engines.loaded["tts"]), "synthesize_chunk", lambda *a, **k: calls.append(1))
    started = time.perf_counter()
    output = run(ctx, "needs-google", text="Hello there.", return_word_timings=True, timing_engine="google")
    assert output["error"].startswith("engine_unavailable: no timing engine could run (google: "), output
    assert calls == [] and time.perf_counter() - started < 5  # no synthesis was run and thrown away
    assert ctx.storage.list_keys("outputs/needs-google/") == []
    assert download(ctx, "needs-google", "audio")["error"].startswith("not_found: ")
    monkeypatch.undo()
    good_job(ctx)


def test_a_job_failing_after_its_audio_was_stored_removes_it(ctx, monkeypatch):
    """Stands in for a fault after the audio is written (a timing engine crashing mid-job)."""

    def broken_timing(*args, **kwargs):
        raise StorageError("injected fault after the audio was stored")

    monkeypatch.setattr(tts_endpoint, "run_timing", broken_timing)
    output = run(ctx, "half-done", text="Hello there.", return_word_timings=True)
    assert output["error"].startswith("storage_error: injected fault"), output
    assert ctx.storage.list_keys("outputs/half-done/") == []
    assert not ctx.storage.exists("results/half-done.json")
    monkeypatch.undo()
    good_job(ctx)


def test_a_second_run_of_an_id_replaces_the_first_set_whole(ctx):
    first = run(
        ctx,
        "local_test",
        text="First run with timings.",
        output_format="mp3",
        return_word_timings=True,
        timing_formats=["srt", "vtt"],
        delivery="text",
    )
    assert "error" not in first, first
    assert ctx.storage.list_keys("outputs/local_test/") == [
        "outputs/local_test/audio.mp3",
        "outputs/local_test/timings.srt",
        "outputs/local_test/timings.vtt",
    ]
    second = run(ctx, "local_test", text="Second run, plain wav.", output_format="wav")
    assert "error" not in second, second
    assert ctx.storage.list_keys("outputs/local_test/") == ["outputs/local_test/audio.wav"]
    assert download(ctx, "local_test", "srt")["error"].startswith("not_found: ")
    audio = download(ctx, "local_test", "audio")
    assert audio["key"] == "outputs/local_test/audio.wav" and audio["size_bytes"] == second["audio"]["size_bytes"]
    # a failing third run leaves the second's set intact and served
    third = run(ctx, "local_test", text="...")
    assert third["error"].startswith("invalid_input: text:")
    assert ctx.storage.list_keys("outputs/local_test/") == ["outputs/local_test/audio.wav"]
    assert download(ctx, "local_test", "audio")["size_bytes"] == second["audio"]["size_bytes"]
    good_job(ctx)
