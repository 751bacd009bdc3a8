"""The ``tts`` endpoint in-process: the tiny random F5-TTS, real tiny.en timing, real espeak-ng voices."""

from __future__ import annotations

import base64
import dataclasses
import io
import shutil
import subprocess

import pysubs2
import pytest
import soundfile

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.engines import Engines
from f5worker.job_signals import JobSignals
from f5worker.settings import Settings
from tests.helpers import espeak_wav

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
LONG_TEXT = " ".join(f"Sentence number {n} talks about the weather and the sea." for n in range(1, 13))


@pytest.fixture(scope="module")
def reference(narrator_wav):
    return narrator_wav  # conftest.py: espeak-ng reading REFERENCE_TEXT


@pytest.fixture
def ctx(narrator_ctx):
    return narrator_ctx  # conftest.py: stored voice 'narrator'


def tts(ctx, job_id="tts-1", **fields):
    return handle_job({"id": job_id, "input": {"endpoint": "tts", "nfe_step": 4, **fields}}, ctx)


def decoded(output) -> tuple:
    return soundfile.read(io.BytesIO(base64.b64decode(output["audio"]["base64"])))


def test_stored_voice_gives_stored_audio_params_metrics_and_result(ctx):
    output = tts(ctx, text="Hello there, how are you today?", voice="narrator", seed=7)
    assert "error" not in output, output
    samples, rate = decoded(output)
    assert rate == 24000 and len(samples) / rate == pytest.approx(output["audio"]["duration_s"], abs=0.01)
    assert output["audio"]["key"] == "outputs/tts-1/audio.wav" and ctx.storage.exists("outputs/tts-1/audio.wav")
    assert output["params"]["seed"] == 7 and output["params"]["nfe_step"] == 4
    assert output["voice"]["ref_text_source"] == "stored"
    assert {"synthesis_ms", "encoding_ms", "storage_ms", "total_ms", "real_time_factor"} <= set(output["metrics"])
    stored = handle_job({"id": "r", "input": {"endpoint": "result", "job_id": "tts-1"}}, ctx)
    assert stored["output"]["audio"]["key"] == output["audio"]["key"] and "base64" not in stored["output"]["audio"]


def test_same_seed_same_audio_and_a_random_seed_is_returned(ctx):
    first = tts(ctx, job_id="a", text="Same seed, same voice.", voice="narrator", seed=42)
    second = tts(ctx, job_id="b", text="Same seed, same voice.", voice="narrator", seed=42)
    other = tts(ctx, job_id="c", text="Same seed, same voice.", voice="narrator", seed=43)
    assert first["audio"]["base64"] == second["audio"]["base64"]
    assert first["audio"]["base64"] != other["audio"]["base64"]
    assert isinstance(tts(ctx, job_id="d", text="Any seed.", voice="narrator")["params"]["seed"], int)


def test_base64_reference_with_and_without_ref_text(ctx, reference):
    ref = base64.b64encode(reference.read_bytes()).decode()
    given = tts(ctx, text="Cloned from base64.", ref_audio=ref, ref_text=REFERENCE_TEXT)
    assert given["voice"]["ref_text_source"] == "request"
    transcribed = tts(ctx, job_id="tts-2", text="Cloned from base64.", ref_audio=ref)
    assert transcribed["voice"]["ref_text_source"] == "transcribed"
    assert "reference" in transcribed["voice"]["ref_text"].lower()


def test_stored_voice_without_text_is_transcribed_once_and_saved(ctx, reference):
    ctx.storage.put_bytes("voices/quiet.wav", reference.read_bytes())
    output = tts(ctx, text="Who is speaking?", voice="quiet")
    assert output["voice"]["ref_text_source"] == "transcribed (saved)"
    assert ctx.storage.get_bytes("voices/quiet.txt").decode() == output["voice"]["ref_text"]
    assert tts(ctx, job_id="again", text="Again.", voice="quiet")["voice"]["ref_text_source"] == "stored"


def test_word_timings_show_the_callers_text_in_every_format(ctx):
    text = "In 2014, Dr. Smith paid £13.60 for 3 books."
    output = tts(ctx, text=text, voice="narrator", return_word_timings=True, karaoke=True)
    timings = output["timings"]
    assert [w["word"] for w in timings["words"]] == text.split()
    assert set(timings["files"]) == {"srt", "vtt", "ass", "csv", "json"}
    assert timings["words"][-1]["end"] <= output["audio"]["duration_s"] + 0.001
    assert "twenty fourteen" in output["params"]["normalized_text"]
    ass = pysubs2.SSAFile.from_string(timings["files"]["ass"]["text"])
    assert "\\k" in ass[0].text and "2014," in ass[0].plaintext


def test_long_text_is_chunked_with_progress(ctx):
    updates = []
    output = tts(
        dataclasses.replace(ctx, signals=JobSignals(reporter=updates.append)), text=LONG_TEXT, voice="narrator", seed=1
    )
    chunks = output["params"]["chunks"]
    assert chunks > 1
    assert [u["chunk"] for u in updates if u.get("stage") == "synthesis"] == list(range(1, chunks + 1))


def test_a_shorter_chunk_target_cuts_more_chunks(ctx):
    default = tts(ctx, text=LONG_TEXT, voice="narrator", seed=1)["params"]["chunks"]
    short = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"chunk_target_s": 8.0}))
    assert tts(short, job_id="short", text=LONG_TEXT, voice="narrator", seed=1)["params"]["chunks"] > default


@pytest.mark.parametrize(("fmt", "rate"), [("flac", 24000), ("mp3", 24000), ("ogg", 48000), ("wav", 16000)])
def test_output_formats_and_rates_decode(ctx, fmt, rate):
    output = tts(ctx, text="Format check.", voice="narrator", output_format=fmt, sample_rate=rate)
    samples, decoded_rate = decoded(output)
    assert decoded_rate == rate and output["audio"]["key"].endswith(f"audio.{fmt}")
    assert len(samples) / rate == pytest.approx(output["audio"]["duration_s"], abs=0.08)


def test_remove_silence_and_normalize_off_are_honoured(ctx):
    output = tts(ctx, text="Room 101 please.", voice="narrator", normalize_text=False, remove_silence=True)
    assert output["params"]["normalized_text"] is None and output["params"]["remove_silence"] is True


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"voice": "narrator"}, "invalid_input: text: required field is missing"),
        ({"text": "hi"}, "invalid_input: voice: give either 'voice'"),
        ({"text": "hi", "voice": "narrator", "ref_audio": "AAAA"}, "invalid_input: voice: give either"),
        ({"text": "hi", "voice": "ghost"}, "not_found: voice: no stored voice named 'ghost'"),
        ({"text": "hi", "voice": "../etc"}, "invalid_input: voice: must match"),
        ({"text": "hi", "voice": "narrator", "nfe_step": 3}, "invalid_input: nfe_step: expected an integer from 4"),
        ({"text": "hi", "voice": "narrator", "speed": 3.5}, "invalid_input: speed: expected a number from 0.3"),
        ({"text": "hi", "voice": "narrator", "seed": -1}, "invalid_input: seed: expected an integer from 0"),
        ({"text": "hi", "voice": "narrator", "output_format": "aac"}, "invalid_input: output_format: expected one"),
        ({"text": "hi", "voice": "narrator", "sample_rate": 12345}, "invalid_input: sample_rate: expected one"),
        ({"text": "hi", "voice": "narrator", "return_audio": "url"}, "invalid_input: return_audio: 'url' needs S3"),
        ({"text": "x" * 5001, "voice": "narrator"}, "payload_too_large: text: 5001 characters"),
        ({"text": "hi", "ref_audio": "bm90IGF1ZGlv", "ref_text": "x"}, "invalid_input: ref_audio: not decodable"),
        ({"text": "hi", "voice": "narrator", "pitch": 2}, "invalid_input: pitch: unknown field"),
        ({"text": "hi", "voice": "narrator", "karaoke": True}, "invalid_input: karaoke: karaoke applies only to word"),
    ],
)
def test_bad_input_is_named(ctx, fields, expected):
    output = handle_job({"id": "bad", "input": {"endpoint": "tts", **fields}}, ctx)
    assert output.get("error", "").startswith(expected), output
    assert not ctx.storage.exists("results/bad.json")


def test_too_short_reference_is_refused(ctx, tmp_path):
    short = espeak_wav("Hi.", tmp_path / "short.wav")
    output = tts(ctx, text="hi", ref_audio=base64.b64encode(short.read_bytes()).decode(), ref_text="Hi.")
    assert output["error"].startswith("invalid_input: ref_audio: ")


def test_without_the_engine_tts_is_engine_unavailable(tmp_path):
    engines = Engines(errors={"tts": "FileNotFoundError: model.safetensors"})
    ctx = build_context(Settings(storage_dir=tmp_path), engines=engines)
    output = handle_job({"id": "x", "input": {"text": "hi", "voice": "narrator"}}, ctx)
    assert output["error"] == "engine_unavailable: the tts engine is unavailable: FileNotFoundError: model.safetensors"


def test_cuda_failure_breaks_the_engine_and_asks_for_a_new_worker(tmp_path, monkeypatch, engines, reference):
    """Injected: a CUDA out-of-memory error (a RuntimeError subclass in torch) during synthesis."""
    import torch

    own = Engines(device="cpu", loaded=dict(engines.loaded))
    ctx = build_context(Settings(storage_dir=tmp_path / "s", voice_cache_dir=tmp_path / "c"), engines=own)
    ctx.storage.put_bytes("voices/narrator.wav", reference.read_bytes())
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())

    def out_of_memory(*_args, **_kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(own.loaded["tts"], "synthesize_chunk", out_of_memory)
    output = tts(ctx, text="Hello.", voice="narrator")
    assert output["refresh_worker"] is True
    assert output["error"].startswith("engine_unavailable: the tts engine failed unrecoverably (OutOfMemoryError")
    after = tts(ctx, job_id="next", text="Hello.", voice="narrator")
    assert after["error"].startswith("engine_unavailable: the tts engine is unavailable: broken after")
    assert "refresh_worker" not in after and engines.loaded.get("tts") is not None  # the shared engine is untouched


BURN_TEXT = (
    "Hello <b>there</b>, {\\an8} R&D said: state-of-the-art-mother-in-law-free-for-all-mega-super-hyper-"
    "extra-long-word. Then it ended."
)


def ffmpeg_has_libass() -> bool:
    if shutil.which("ffmpeg") is None:
        return False
    filters = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True).stdout
    return " ass " in filters and " subtitles " in filters


@pytest.mark.skipif(not ffmpeg_has_libass(), reason="needs ffmpeg with libass (ass, subtitles filters)")
def test_ffmpeg_burns_the_timing_files_into_video_without_warnings(ctx, tmp_path):
    """SRT/VTT/ASS (karaoke) of a job with markup, override tags and a 74-character word, burnt by libass
    into a video FFmpeg makes itself (2 s at 160x90); `-loglevel warning` must print nothing."""
    output = tts(
        ctx,
        job_id="burn",
        text=BURN_TEXT,
        voice="narrator",
        return_word_timings=True,
        karaoke=True,
        timing_formats=["srt", "vtt", "ass"],
    )
    assert "error" not in output, output
    video = ["-f", "lavfi", "-i", "color=c=gray:s=160x90:r=24:d=2", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"]
    for fmt, video_filter in (("srt", "subtitles"), ("vtt", "subtitles"), ("ass", "ass")):
        path = tmp_path / f"timings.{fmt}"
        path.write_text(output["timings"]["files"][fmt]["text"], encoding="utf-8")
        burnt = tmp_path / f"burnt-{fmt}.mp4"
        command = [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "warning",
            *video,
            "-t",
            "2",
            "-vf",
            f"{video_filter}=filename={path}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            str(burnt),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stderr == "", (fmt, result.stderr)
        assert burnt.stat().st_size > 0


def test_a_stored_voice_is_fetched_and_decoded_once_across_jobs(ctx):
    for job_id in ("warm-1", "warm-2"):
        assert "error" not in tts(ctx, job_id=job_id, text="Hello again.", voice="narrator", seed=1)
    assert ctx.references.files.downloads == 1
    info = ctx.references.prepared_info()
    assert (info.misses, info.hits) == (1, 1)
