"""The ``stt`` endpoint in-process: real tiny.en weights, real espeak-ng speech, local storage."""

from __future__ import annotations

import base64
import dataclasses
import json

import pysubs2
import pytest

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.endpoints.stt import segment_output
from f5worker.engines import Engines
from f5worker.engines.whisper import WhisperEngine
from f5worker.settings import Settings
from f5worker.timing.transcript import Segment
from f5worker.words import Word
from tests.caption_rules import check_job_output
from tests.helpers import convert_audio, espeak_wav, tiny_whisper_model

SENTENCE = "Please call Stella and ask her to bring these things with her from the store."


@pytest.fixture(scope="module")
def whisper_engines() -> Engines:
    settings = Settings(whisper_model=tiny_whisper_model())
    engines = Engines(device="cpu")
    engines.load("whisperx", lambda: WhisperEngine.load(settings, "cpu"))
    engines.errors["google"] = "not configured (test)"
    return engines


@pytest.fixture
def ctx(tmp_path, whisper_engines):
    return build_context(Settings(storage_dir=tmp_path / "storage", max_audio_s=60), engines=whisper_engines)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return espeak_wav(SENTENCE, tmp_path_factory.mktemp("speech") / "speech.wav")


def stt(ctx, job_id="stt-1", **fields):
    return handle_job({"id": job_id, "input": {"endpoint": "stt", **fields}}, ctx)


def b64(path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_transcribes_with_words_segments_files_metrics_and_stores_the_result(ctx, speech):
    output = stt(ctx, audio=b64(speech))
    assert "error" not in output, output
    assert output["language"] == "en" and output["engine"]["name"] == "whisperx"
    assert output["engine"]["method"] == "faster-whisper-words"
    assert output["words"] and all(w["end"] >= w["start"] >= 0 for w in output["words"])
    times = [t for w in output["words"] for t in (w["start"], w["end"])]
    assert all(round(t, 3) == t for t in times)
    assert output["segments"][0]["words"]
    assert set(output["files"]) == {"srt", "vtt", "ass", "csv", "json"}
    srt = pysubs2.SSAFile.from_string(output["files"]["srt"]["text"])
    assert srt[0].start == round(output["words"][0]["start"] * 1000)
    assert ctx.storage.exists("outputs/stt-1/timings.ass")
    metrics = output["metrics"]
    assert metrics["decode_ms"] > 0 and metrics["transcribe_ms"] > 0 and metrics["real_time_factor"] > 0
    stored = handle_job({"id": "r", "input": {"endpoint": "result", "job_id": "stt-1"}}, ctx)
    assert stored["endpoint"] == "stt" and stored["output"]["text"] == output["text"]


def test_known_text_keeps_the_callers_words(ctx, speech):
    text = "Please call Stella, and ask her to bring these things with her from the store!"
    output = stt(ctx, audio=b64(speech), text=text, timing_formats=["json"])
    assert [w["word"] for w in output["words"]] == text.split()
    assert output["text"] == text
    assert output["engine"]["method"] == "faster-whisper-words+known-text"
    stats = output["engine"]["known_text"]
    assert stats["matched"] + stats["interpolated"] == len(text.split())
    assert json.loads(output["files"]["json"]["text"])["words"][2]["word"] == "Stella,"


def test_mp3_with_data_prefix_and_storage_keys(ctx, speech, tmp_path):
    mp3 = convert_audio(speech, tmp_path / "speech.mp3")
    via_data_url = stt(ctx, audio="data:audio/mpeg;base64," + b64(mp3), timing_formats=["srt"])
    assert via_data_url["words"]
    ctx.storage.put_bytes("voices/stella.wav", speech.read_bytes())
    via_key = stt(ctx, job_id="stt-key", audio="voices/stella.wav", timing_formats=[])
    assert via_key["words"] and via_key["files"] == {}


def test_caption_options_shape_the_files(ctx, speech):
    output = stt(ctx, audio=b64(speech), timing_formats=["srt"], max_chars_per_line=12, max_lines=1)
    for event in pysubs2.SSAFile.from_string(output["files"]["srt"]["text"]):
        assert len(event.plaintext) <= 12 or " " not in event.plaintext


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "invalid_input: audio: required field is missing"),
        ({"audio": ""}, "invalid_input: audio: expected at least 1 character (got an empty string)"),
        ({"audio": "bm90IGF1ZGlv"}, "invalid_input: audio: not decodable audio"),
        ({"audio": "!!!"}, "invalid_input: audio: expected an http(s) URL"),
        ({"audio": "voices/missing.wav"}, "not_found: audio: no stored file 'voices/missing.wav'"),
        ({"audio": "x", "language": "english"}, "invalid_input: language: must match"),
        ({"audio": "x", "timing_engine": "sphinx"}, "invalid_input: timing_engine: expected one of"),
        ({"audio": "x", "timing_formats": ["pdf"]}, "invalid_input: timing_formats.0: expected one of"),
        ({"audio": "x", "max_lines": 9}, "invalid_input: max_lines: expected an integer from 1 to 4 (got 9)"),
        ({"audio": "x", "delivery": "url"}, "invalid_input: delivery: 'url' needs S3"),
        ({"audio": "x", "text": "y" * 5001}, "payload_too_large: text: 5001 characters"),
        ({"audio": "x", "speed": 2}, "invalid_input: speed: unknown field"),
        ({"audio": "x", "verify": True}, "invalid_input: verify: checks the audio against 'text'"),
        ({"audio": "x", "text": "y", "verify": "yes"}, "invalid_input: verify: expected true or false"),
    ],
)
def test_bad_input_is_named(ctx, fields, expected):
    output = stt(ctx, **fields)
    assert output.get("error", "").startswith(expected), output


def test_google_only_without_credentials_is_engine_unavailable(ctx, speech):
    output = stt(ctx, audio=b64(speech), timing_engine="google")
    assert output["error"].startswith("engine_unavailable: no timing engine could run (google: not configured")


def test_audio_over_the_limit_is_payload_too_large(tmp_path, whisper_engines, speech):
    short_limit = build_context(Settings(storage_dir=tmp_path, max_audio_s=1), engines=whisper_engines)
    assert stt(short_limit, audio=b64(speech))["error"].startswith("payload_too_large: audio: audio is longer")


def test_nothing_is_stored_for_a_failed_job(ctx):
    stt(ctx, job_id="failed-job", audio="bm90IGF1ZGlv")
    assert ctx.storage.list_keys("outputs/failed-job/") == []
    assert not ctx.storage.exists("results/failed-job.json")


def test_whisper_pieces_of_one_written_word_are_joined():
    """faster-whisper splits "85%" and "1,200" at punctuation; captions must show them whole."""
    from types import SimpleNamespace

    from f5worker.engines.whisper import _segment

    pieces = [
        (" About", 0.0, 0.3),
        (" 85", 0.3, 0.6),
        ("%", 0.6, 0.7),
        (" of", 0.7, 0.8),
        (" the", 0.8, 0.9),
        (" 1", 0.9, 1.0),
        (",200", 1.0, 1.4),
        (" students.", 1.4, 1.9),
    ]
    piece = SimpleNamespace(
        start=0.0,
        end=1.9,
        text=" About 85% of the 1,200 students.",
        words=[SimpleNamespace(word=w, start=s, end=e, probability=0.9) for w, s, e in pieces],
    )
    words = _segment(piece).words
    assert [w.word for w in words] == ["About", "85%", "of", "the", "1,200", "students."]
    assert (words[1].start, words[1].end) == (0.3, 0.7) and (words[4].start, words[4].end) == (0.9, 1.4)


def test_titles_do_not_end_known_text_segments():
    from f5worker.timing.transcript import segments_by_sentence
    from f5worker.words import Word

    text = ["In", "2014", "Dr.", "Smith", "paid.", "Then", "left."]
    words = [Word(word=w, start=i, end=i + 0.5) for i, w in enumerate(text)]
    assert [s.text for s in segments_by_sentence(words)] == ["In 2014 Dr. Smith paid.", "Then left."]


def test_long_audio_reports_progress_and_short_audio_does_not(ctx, speech, tmp_path):
    import subprocess

    from f5worker.job_signals import JobSignals

    padded = tmp_path / "long.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(speech), "-af", "apad=whole_dur=31", str(padded)],
        check=True,
    )
    updates = []
    reporting = dataclasses.replace(ctx, signals=JobSignals(reporter=updates.append))
    stt(reporting, job_id="short", audio=b64(speech), timing_formats=[])
    assert updates == []
    stt(reporting, job_id="long", audio=b64(padded), timing_formats=[])
    assert [u["stage"] for u in updates] == ["transcribe", "files"]
    assert updates[0]["audio_s"] >= 30


def test_times_are_whole_milliseconds():
    """Offsets added to recogniser times leave float noise (30.159999999999997); outputs carry ms."""
    noisy = Word(word="late", start=30.159999999999997, end=30.560000000000002, confidence=0.5)
    segment = Segment(start=29.999999999999996, end=30.560000000000002, text="late", words=[noisy])
    assert segment_output(segment) == {
        "start": 30.0,
        "end": 30.56,
        "text": "late",
        "words": [{"word": "late", "start": 30.16, "end": 30.56, "confidence": 0.5}],
    }


def test_files_behind_s3_urls_meet_the_caption_rules(s3_settings, s3_storage, whisper_engines, speech):
    """The checker fetches URL-delivered files the way a caller would (moto's S3 over HTTP)."""
    ctx = build_context(s3_settings, engines=whisper_engines)
    ctx.storage = s3_storage
    job = {
        "endpoint": "stt",
        "audio": b64(speech),
        "timing_formats": ["srt", "vtt", "ass", "json"],
        "max_chars_per_line": 24,
    }
    output = handle_job({"id": "stt-s3", "input": job}, ctx)
    assert all("url" in entry and "text" not in entry for entry in output["files"].values()), output
    check_job_output(job, output)


def test_known_text_pronunciations_tell_the_aligner_how_the_words_are_said(tmp_path, spoken_engines, whisper_engines):
    """The script says 'Okonkwo' and 'GIF'; the speaker said 'oh konk woh' and 'jif': each typed word is
    aligned over its respelling, from a stored lexicon with a job entry over it."""
    from tests.speech import espeak_speech

    truth = espeak_speech("Chief oh konk woh sent a jif today.", tmp_path / "said.wav")
    engines = Engines(device="cpu")
    engines.loaded.update(whisper_engines.loaded, aligner=spoken_engines.loaded["aligner"])
    ctx = build_context(Settings(storage_dir=tmp_path / "storage"), engines=engines)
    ctx.storage.put_bytes(
        "lexicons/names.json", json.dumps({"entries": {"Okonkwo": "oh konk woh", "GIF": "gif"}}).encode()
    )
    text = "Chief Okonkwo sent a GIF today."
    output = stt(
        ctx,
        audio=b64(tmp_path / "said.wav"),
        text=text,
        lexicon="names",
        pronunciations={"GIF": "jif"},
        timing_formats=["srt"],
    )
    assert "error" not in output, output
    assert [word["word"] for word in output["words"]] == text.split()
    assert output["engine"]["method"] == "pocketsphinx-known-text"
    assert {word["timed_by"] for word in output["words"]} == {"aligned"}
    starts = dict(truth)
    okonkwo, sent = output["words"][1], output["words"][2]
    assert abs(okonkwo["start"] - starts["oh"]) < 0.1 and abs(sent["start"] - starts["sent"]) < 0.1
    assert okonkwo["end"] > starts["woh"]  # the typed word spans its whole respelling
    assert "Chief Okonkwo sent a GIF today." in output["files"]["srt"]["text"]  # no respelling in a caption
    missing = stt(ctx, audio=b64(tmp_path / "said.wav"), text=text, lexicon="nope")
    assert missing["error"].startswith("not_found: lexicon: no stored lexicon named 'nope'")


# ------------------------------------------------------------------ stt without text: which way timed the words


@pytest.fixture(scope="module")
def aligning_engines(whisper_engines) -> Engines:
    """tiny.en and the warm forced aligner, as a default English worker has them."""
    from f5worker.timing.aligner import ForcedAligner

    engines = Engines(device="cpu", loaded=dict(whisper_engines.loaded), errors=dict(whisper_engines.errors))
    engines.load("aligner", ForcedAligner.load)
    return engines


def test_without_text_english_words_are_force_aligned_keeping_the_recognisers_words(tmp_path, aligning_engines, speech):
    ctx = build_context(Settings(storage_dir=tmp_path / "storage"), engines=aligning_engines)
    aligned = stt(ctx, job_id="auto", audio=b64(speech), timing_formats=["srt"])
    heard = stt(ctx, job_id="whisper", audio=b64(speech), timing_engine="whisper", timing_formats=["srt"])
    assert "error" not in aligned, aligned
    assert (
        aligned["engine"]["timing"] == "aligner" and aligned["engine"]["method"] == "faster-whisper-words+pocketsphinx"
    )
    assert heard["engine"]["timing"] == "whisper" and heard["engine"]["method"] == "faster-whisper-words"
    assert aligned["text"] == heard["text"]
    assert [(w["word"], w["confidence"]) for w in aligned["words"]] == [
        (w["word"], w["confidence"]) for w in heard["words"]
    ]
    assert [s["text"] for s in aligned["segments"]] == [s["text"] for s in heard["segments"]]
    assert {w["timed_by"] for w in aligned["words"]} == {"aligned"}
    assert {w["timed_by"] for w in heard["words"]} == {"matched"}
    assert aligned["engine"]["timed_by"]["aligned"] == len(aligned["words"])
    assert aligned["engine"]["alignment"]["fallback_pieces"] == []
    assert aligned["metrics"]["align_ms"] > 0 and heard["metrics"]["align_ms"] is None
    srt = pysubs2.SSAFile.from_string(aligned["files"]["srt"]["text"])
    assert srt[0].start == round(aligned["words"][0]["start"] * 1000)


def test_the_aligner_choice_for_another_language_is_engine_unavailable(tmp_path, aligning_engines, speech):
    ctx = build_context(Settings(storage_dir=tmp_path / "storage"), engines=aligning_engines)
    output = stt(ctx, audio=b64(speech), timing_engine="aligner", language="de", text="Bitte rufen Sie Stella an.")
    assert output["error"].startswith("engine_unavailable: timing_engine: the forced aligner times English only")


def test_the_aligner_choice_without_the_aligner_is_engine_unavailable(ctx, speech):
    output = stt(ctx, audio=b64(speech), timing_engine="aligner")
    assert output["error"] == "engine_unavailable: no timing engine could run (aligner: not loaded)"
