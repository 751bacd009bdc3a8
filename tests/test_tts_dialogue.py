"""Multi-voice ``tts`` in-process: tagged text and segments on the tiny random F5-TTS, two espeak-ng voices."""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
import pysubs2
import pytest
import soundfile

from f5worker.client import final_item
from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.settings import Settings
from f5worker.streaming import run_job, stream_job
from tests.helpers import espeak_wav, whole_chunks

pytestmark = pytest.mark.timeout(900)  # f5-tts's import alone can take minutes on a shared 2-core machine

NARRATOR_TEXT = "This is the reference voice that the tests clone today."
GUEST_TEXT = "A second voice, speaking a little faster than the first."
DIALOGUE = "[narrator] It was late, and the house was quiet. [guest] Was it? [narrator] It was."
SEGMENTS = [
    {"voice": "narrator", "text": "It was late, and the house was quiet."},
    {"voice": "guest", "text": "Was it?"},
    {"voice": "narrator", "text": "It was."},
]


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    root = tmp_path_factory.mktemp("voices")
    return {
        "narrator": espeak_wav(NARRATOR_TEXT, root / "narrator.wav"),
        "guest": espeak_wav(GUEST_TEXT, root / "guest.wav", voice="en-gb", words_per_minute=190),
    }


def two_voice_context(root, engines, voices):
    ctx = build_context(Settings(storage_dir=root / "storage", voice_cache_dir=root / "cache"), engines=engines)
    ctx.storage.put_bytes("voices/narrator.wav", voices["narrator"].read_bytes())
    ctx.storage.put_bytes("voices/narrator.txt", NARRATOR_TEXT.encode())
    ctx.storage.put_bytes("voices/guest.wav", voices["guest"].read_bytes())
    ctx.storage.put_bytes("voices/guest.txt", GUEST_TEXT.encode())
    return ctx


@pytest.fixture
def ctx(tmp_path, engines, voices):
    return two_voice_context(tmp_path, engines, voices)


def tts(ctx, job_id: str, **fields) -> dict:
    """Run in a worker thread, as both handlers do (see tests/test_streaming.py)."""
    return asyncio.run(run_job({"id": job_id, "input": {"endpoint": "tts", "nfe_step": 4, "seed": 11, **fields}}, ctx))


def samples(output: dict) -> np.ndarray:
    return soundfile.read(io.BytesIO(base64.b64decode(output["audio"]["base64"])), dtype="int16")[0]


def test_tagged_text_and_segments_give_the_same_reproducible_audio(ctx):
    tagged = tts(ctx, "d1", text=DIALOGUE)
    assert "error" not in tagged, tagged
    assert tagged["voice"]["speakers"] == ["narrator", "guest"] and tagged["voice"]["turns"] == 3
    assert [turn["speaker"] for turn in tagged["params"]["turns"]] == ["narrator", "guest", "narrator"]
    again = tts(ctx, "d2", text=DIALOGUE)
    segments = tts(ctx, "d3", segments=SEGMENTS)
    assert samples(tagged).tolist() == samples(again).tolist() == samples(segments).tolist()
    other_seed = tts(ctx, "d4", text=DIALOGUE, seed=12)
    assert samples(other_seed).tolist() != samples(tagged).tolist()


def test_a_pause_between_turns_lengthens_the_audio(ctx):
    joined = tts(ctx, "p1", segments=SEGMENTS)
    paused = tts(ctx, "p2", segments=SEGMENTS, segment_pause_s=0.5)
    # Two pauses, each 0.5 s with no voice, and the two turns no longer overlap by the 0.15 s cross-fade.
    assert paused["audio"]["duration_s"] == pytest.approx(joined["audio"]["duration_s"] + 2 * (0.5 + 0.15), abs=0.005)


def test_timings_carry_speakers_and_captions_keep_them_apart(ctx):
    output = tts(
        ctx,
        "t1",
        text=DIALOGUE,
        return_word_timings=True,
        timing_formats=["srt", "ass", "json"],
        speaker_colors={"guest": "#00FF00"},
    )
    assert "error" not in output, output
    words = output["timings"]["words"]
    assert [w["word"] for w in words][:3] == ["It", "was", "late,"]
    assert {w["speaker"] for w in words} <= {"narrator", "guest"} and words[0]["speaker"] == "narrator"
    ass = pysubs2.SSAFile.from_string(output["timings"]["files"]["ass"]["text"])
    assert ass.styles["guest"].primarycolor == pysubs2.Color(0, 255, 0)
    assert output["timings"]["files"]["srt"]["text"].split("\n")[2].startswith("narrator: ")


def test_streamed_dialogue_concatenates_to_the_job_audio(ctx):
    async def gather():
        job = {
            "id": "s1",
            "input": {
                "endpoint": "tts",
                "nfe_step": 4,
                "seed": 11,
                "segments": SEGMENTS,
                "segment_pause_s": 0.3,
                "stream": True,
            },
        }
        return [item async for item in stream_job(job, ctx)]

    items = asyncio.run(gather())
    chunks, final = whole_chunks(items), final_item(items)
    assert "error" not in final, final
    pcm = np.frombuffer(b"".join(base64.b64decode(item["audio"]) for item in chunks), dtype="<i2")
    assert pcm.tolist() == samples(final).tolist()
    assert [item["seq"] for item in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"text": "[narrator] Hi. [ghost] Boo."}, "invalid_input: text: unknown voice tag [ghost]"),
        ({"segments": [{"voice": "ghost", "text": "Boo."}]}, "not_found: segments.0.voice: no stored voice"),
        ({"segments": [{"text": "Who am I?"}]}, "invalid_input: segments.0.voice: required"),
        ({"segments": SEGMENTS, "text": "Hi."}, "invalid_input: segments: give either 'text' or 'segments'"),
        ({"segments": SEGMENTS, "fix_duration": 9.0}, "invalid_input: fix_duration: not supported for multi-voice"),
        ({"segments": []}, "invalid_input: segments:"),
        ({"text": "[narrator] Hi.", "speaker_colors": {"narrator": "red"}}, "invalid_input: speaker_colors.narrator"),
        ({"text": "Plain text, no voice."}, "invalid_input: voice: give either"),
    ],
)
def test_bad_dialogue_input_names_the_field_and_the_worker_serves_on(ctx, fields, expected):
    output = handle_job({"id": "bad", "input": {"endpoint": "tts", "nfe_step": 4, **fields}}, ctx)
    assert output.get("error", "").startswith(expected), output
    assert "error" not in handle_job(
        {"id": "ok", "input": {"endpoint": "tts", "nfe_step": 4, "voice": "guest", "text": "[narrator] Still fine."}},
        ctx,
    )


def test_dialogue_words_are_aligned_chunk_by_chunk_with_their_speakers(tmp_path, spoken_engines, voices):
    """Real speech from two espeak-ng voices (the stand-in for F5-TTS) and the forced aligner, no
    recogniser: every chunk is aligned in its own audio and its words carry its turn's speaker."""
    spoken_engines.loaded["tts"].voices[GUEST_TEXT] = ("en-us+f3", 190)
    ctx = two_voice_context(tmp_path, spoken_engines, voices)
    segments = [*SEGMENTS, {"voice": "guest", "text": "Yes, it was, at 11:30 pm."}]
    job = {
        "id": "w1",
        "input": {
            "endpoint": "tts",
            "segments": segments,
            "segment_pause_s": 0.3,
            "return_word_timings": True,
            "timing_formats": ["srt", "vtt"],
            "stream": True,
        },
    }

    async def gather():
        return [item async for item in stream_job(job, ctx)]

    items = asyncio.run(gather())
    final = final_item(items)
    assert "error" not in final, final
    words = final["timings"]["words"]
    expected = [(token, segment["voice"]) for segment in segments for token in segment["text"].split()]
    assert [(word["word"], word["speaker"]) for word in words] == expected
    assert {word["timed_by"] for word in words} == {"aligned"}
    engine = final["timings"]["engine"]
    assert engine["name"] == "aligner" and engine["known_text"]["pieces"] == len(segments)
    chunks = whole_chunks(items)
    assert [word for item in chunks for word in item["words"]] == words  # pauses carry no words
    for item in chunks:  # each chunk's words lie inside its own audio
        assert bool(item["words"]) == bool(item["text"])
        if item["words"]:
            assert item["start_s"] <= item["words"][0]["start"] + 0.001
            assert item["words"][-1]["end"] <= item["start_s"] + item["duration_s"] + 0.001
    assert "\nguest: " in final["timings"]["files"]["srt"]["text"]
    assert "<v guest>" in final["timings"]["files"]["vtt"]["text"]
    plain = tts(ctx, "w2", segments=segments, segment_pause_s=0.3, return_word_timings=True, timing_formats=["srt"])
    assert plain["timings"]["words"] == words
