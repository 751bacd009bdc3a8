"""Directing a ``tts`` job in-process, on real speech: pronunciations (job entries, stored lexicons),
pause tags and voice presets, each through ``handle_job``.

``tests.espeak_tts.EspeakTtsEngine`` stands in for F5-TTS (it speaks each chunk with espeak-ng and
records the text it was given), with the warm forced aligner and no recogniser: every word of the
output must come from alignment, so a typed word timed over its respelling is checked for real.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import soundfile

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.engines import Engines
from f5worker.media.silence import frame_length, frame_rms, loud_frames
from f5worker.settings import Settings
from f5worker.timing.aligner import ForcedAligner
from tests.caption_rules import srt_cues
from tests.espeak_tts import EspeakTtsEngine
from tests.helpers import espeak_wav, stream_parts

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
TYPED = "Chief Okonkwo sent a GIF of the SQL query to Stella."
FRAME_S = 0.010


@pytest.fixture(scope="module")
def speaker() -> EspeakTtsEngine:
    return EspeakTtsEngine()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> bytes:
    return espeak_wav(REFERENCE_TEXT, tmp_path_factory.mktemp("ref") / "ref.wav").read_bytes()


@pytest.fixture
def ctx(tmp_path, speaker, reference):
    speaker.reset()
    engines = Engines(device="cpu")
    engines.loaded["tts"] = speaker
    engines.load("aligner", ForcedAligner.load)
    ctx = build_context(Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache"), engines=engines)
    ctx.storage.put_bytes("voices/narrator.wav", reference)
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    return ctx


def tts(ctx, speaker, **fields) -> dict:
    speaker.reset()
    job = {"endpoint": "tts", "voice": "narrator", "seed": 3, "return_audio": "base64", **fields}
    return handle_job({"id": "direct", "input": job}, ctx)


def voices(ctx, **fields) -> dict:
    output = handle_job({"id": "v", "input": {"endpoint": "voices", **fields}}, ctx)
    assert "error" not in output, output
    return output


def said(speaker: EspeakTtsEngine) -> str:
    """What the synthesiser was given, all chunks."""
    return " ".join(chunk.text for chunk in speaker.spoken)


def samples(output: dict) -> np.ndarray:
    audio, rate = soundfile.read(io.BytesIO(base64.b64decode(output["audio"]["base64"])), dtype="float32")
    assert rate == F5_SAMPLE_RATE
    return audio


def silences_s(audio: np.ndarray) -> list[float]:
    """Lengths of the quiet stretches between sounds (10 ms frames, 40 dB under the loudest)."""
    loud = loud_frames(frame_rms(audio, frame_length(F5_SAMPLE_RATE)))
    runs, run, started = [], 0, False
    for frame in loud:
        if frame:
            if started and run:
                runs.append(run * FRAME_S)
            started, run = True, 0
        else:
            run += 1
    return runs


TIMED = {"return_word_timings": True, "timing_formats": ["srt", "json"], "delivery": "text"}


def test_a_pronunciation_changes_what_the_model_says_not_one_caption(ctx, speaker):
    pronunciations = {"Okonkwo": "oh konk woh", "GIF": "jif", "sql": "sequel"}
    output = tts(ctx, speaker, text=TYPED, pronunciations=pronunciations, **TIMED)
    assert "error" not in output, output
    assert said(speaker) == "Chief oh konk woh sent a jif of the sequel query to Stella."
    words = output["timings"]["words"]
    assert [word["word"] for word in words] == TYPED.split()
    assert {word["timed_by"] for word in words} == {"aligned"}
    json_words = [word["word"] for word in json.loads(output["timings"]["files"]["json"]["text"])["words"]]
    assert json_words == TYPED.split()
    captions = " ".join(line for cue in srt_cues(output["timings"]["files"]["srt"]["text"]) for line in cue.lines)
    assert captions == TYPED
    assert output["params"]["pronunciations_used"] == ["Okonkwo", "GIF", "sql"]
    # 'Okonkwo' is timed over all of 'oh konk woh': it starts with 'oh' and ends where 'sent' begins
    truth = dict(speaker.joined()[1])
    okonkwo, sent = words[1], words[2]
    assert abs(okonkwo["start"] - truth["oh"]) < 0.08
    assert okonkwo["end"] > truth["woh"] and abs(sent["start"] - truth["sent"]) < 0.08
    plain = tts(ctx, speaker, text=TYPED, **TIMED)
    assert said(speaker) == TYPED and [word["word"] for word in plain["timings"]["words"]] == TYPED.split()


def test_a_voices_stored_lexicon_applies_and_job_entries_win(ctx, speaker):
    voices(ctx, action="upload_lexicon", name="names", entries={"Okonkwo": "oh konk woh", "GIF": "jif"})
    voices(ctx, action="presets", name="narrator", presets={"lexicon": "names"})
    tts(ctx, speaker, text=TYPED)
    assert said(speaker) == "Chief oh konk woh sent a jif of the SQL query to Stella."
    tts(ctx, speaker, text=TYPED, pronunciations={"GIF": "gift"})
    assert said(speaker) == "Chief oh konk woh sent a gift of the SQL query to Stella."
    voices(ctx, action="upload_lexicon", name="other", entries={"Stella": "stellar"})
    tts(ctx, speaker, text=TYPED, lexicon="other")  # the job's lexicon replaces the voice's
    assert said(speaker) == "Chief Okonkwo sent a GIF of the SQL query to stellar."
    missing = tts(ctx, speaker, text=TYPED, lexicon="nope")
    assert missing["error"].startswith("not_found: lexicon: no stored lexicon named 'nope'")
    voices(ctx, action="delete_lexicon", name="names")
    gone = tts(ctx, speaker, text=TYPED)
    assert gone["error"].startswith("not_found: voice 'narrator' presets: lexicon: no stored lexicon named 'names'")


def test_a_pause_tag_is_that_much_silence_and_a_caption_break(ctx, speaker):
    text = "The first sentence ends here. [pause 1.2s] The second sentence starts there."
    output = tts(ctx, speaker, text=text, **TIMED)
    assert "error" not in output, output
    assert said(speaker) == "The first sentence ends here. The second sentence starts there."
    assert len(speaker.spoken) == 2  # the tag ends the chunk
    longest = max(silences_s(samples(output)))
    assert abs(longest - 1.2) <= FRAME_S + 0.001, silences_s(samples(output))
    words = output["timings"]["words"]
    assert [word["word"] for word in words] == text.replace(" [pause 1.2s]", "").split()
    assert words[4]["pause_after"] == 1.2 and all("pause_after" not in word for word in words[5:])
    assert output["params"]["pauses"] == [1.2]
    cues = srt_cues(output["timings"]["files"]["srt"]["text"])
    assert [" ".join(cue.lines) for cue in cues] == [
        "The first sentence ends here.",
        "The second sentence starts there.",
    ]


def test_a_short_pause_mid_sentence_still_breaks_the_caption(ctx, speaker):
    text = "Wait for it [pause 0.2s] and then go on with the rest of the sentence."
    output = tts(ctx, speaker, text=text, **TIMED)
    assert "error" not in output, output
    assert any(abs(silence - 0.2) <= FRAME_S + 0.001 for silence in silences_s(samples(output)))
    cues = srt_cues(output["timings"]["files"]["srt"]["text"])
    assert " ".join(cues[0].lines) == "Wait for it"


def test_pauses_stay_whole_when_silences_are_removed(ctx, speaker):
    text = "The first sentence ends here. [pause 2s] The second sentence starts there."
    output = tts(ctx, speaker, text=text, remove_silence=True, **TIMED)
    assert "error" not in output, output
    assert abs(max(silences_s(samples(output))) - 2.0) <= FRAME_S + 0.001


def test_pauses_in_dialogue_turns(ctx, speaker):
    ctx.storage.put_bytes("voices/guest.wav", ctx.storage.get_bytes("voices/narrator.wav"))
    ctx.storage.put_bytes("voices/guest.txt", REFERENCE_TEXT.encode())
    text = "[narrator] It was late. [pause 0.8s] Very late. [guest] Was it GIF?"
    output = tts(ctx, speaker, text=text, pronunciations={"GIF": "jif"}, **TIMED)
    assert "error" not in output, output
    assert said(speaker) == "It was late. Very late. Was it jif?"
    words = output["timings"]["words"]
    assert [(word["word"], word["speaker"]) for word in words][-3:] == [
        ("Was", "guest"),
        ("it", "guest"),
        ("GIF?", "guest"),
    ]
    assert words[2]["pause_after"] == 0.8
    assert any(abs(silence - 0.8) <= FRAME_S + 0.001 for silence in silences_s(samples(output)))


def test_presets_apply_and_the_requests_own_fields_win(ctx, speaker):
    base = tts(ctx, speaker, text=TYPED)
    fast = tts(ctx, speaker, text=TYPED, speed=1.5)
    voices(ctx, action="alias", name="quick", alias_of="narrator", presets={"speed": 1.5, "nfe_step": 8})
    preset = tts(ctx, speaker, text=TYPED, voice="quick")
    assert preset["audio"]["duration_s"] == fast["audio"]["duration_s"] < base["audio"]["duration_s"]
    assert preset["params"]["speed"] == 1.5 and preset["params"]["nfe_step"] == 8
    assert preset["voice"]["voice"] == "quick" and preset["voice"]["audio_key"] == "voices/narrator.wav"
    own = tts(ctx, speaker, text=TYPED, voice="quick", speed=1.0, nfe_step=16)
    assert own["audio"]["duration_s"] == base["audio"]["duration_s"]
    assert own["params"]["speed"] == 1.0 and own["params"]["nfe_step"] == 16
    # in dialogue a turn's voice brings its speed, unless the job or the segment sets one
    turns = tts(ctx, speaker, segments=[{"voice": "narrator", "text": "One."}, {"voice": "quick", "text": "Two."}])
    assert [turn["speed"] for turn in turns["params"]["turns"]] == [1.0, 1.5]
    turns = tts(
        ctx,
        speaker,
        speed=1.2,
        segments=[{"voice": "quick", "text": "Two."}, {"voice": "quick", "text": "Three.", "speed": 0.9}],
    )
    assert [turn["speed"] for turn in turns["params"]["turns"]] == [1.2, 0.9]


def test_a_remove_silence_preset_does_not_apply_to_a_streamed_job(ctx, speaker):
    from f5worker.endpoints.speech_directions import with_voice_presets
    from f5worker.schemas import TtsRequest

    voices(ctx, action="presets", name="narrator", presets={"remove_silence": True, "language": "en"})
    plain = with_voice_presets(TtsRequest(endpoint="tts", text="Hi.", voice="narrator"), ctx)
    assert (
        plain.remove_silence is True
        and plain.language == "en"
        and plain.model_fields_set == {"endpoint", "text", "voice"}
    )
    streamed = with_voice_presets(TtsRequest(endpoint="tts", text="Hi.", voice="narrator", stream=True), ctx)
    assert streamed.remove_silence is False


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"pronunciations": {"GIF": ""}}, "invalid_input: pronunciations: entry 'GIF': the respelling has 1 to 128"),
        ({"pronunciations": {"GIF": 3}}, "invalid_input: pronunciations.GIF: expected a string"),
        ({"pronunciations": ["GIF"]}, "invalid_input: pronunciations: expected an object"),
        ({"lexicon": "bad name"}, "invalid_input: lexicon: must match"),
        ({"text": "Go [pause 1.5] now."}, "invalid_input: text: pause tag '[pause 1.5]' is malformed"),
        ({"text": "Go [pause 11s] now."}, "invalid_input: text: pause tag '[pause 11s]' asks for 11 s"),
        ({"text": "[pause 1s]"}, "invalid_input: text: contains no words to speak besides its pause tags"),
        ({"text": "Go [pause 1s] now.", "fix_duration": 9.0}, "invalid_input: fix_duration: cannot be combined"),
        (
            {"text": "a " * 40, "pronunciations": {"a": "x" * 128}},
            "invalid_input: pronunciations: read with its pronunciations the text is",
        ),
        ({"language": "English"}, "invalid_input: language: must match"),
    ],
)
def test_bad_directions_are_refused_naming_the_field(ctx, speaker, fields, error):
    output = tts(ctx, speaker, **{"text": TYPED, **fields})
    assert output.get("error", "").startswith(error), output
    assert ctx.storage.list_keys("outputs/") == []  # nothing half written


def test_a_streamed_pause_is_its_own_item(ctx, speaker):
    import asyncio

    from f5worker.streaming import stream_job

    text = "One sentence comes first. [pause 1s] Another one comes after it."
    job = {"id": "s", "input": {"endpoint": "tts", "voice": "narrator", "text": text, "stream": True, **TIMED}}

    async def gather():
        return [item async for item in stream_job(job, ctx, None)]

    items = asyncio.run(gather())
    chunks, final = stream_parts(items)
    assert "error" not in final, final
    assert [item["text"] for item in chunks] == ["One sentence comes first.", "", "Another one comes after it."]
    assert chunks[1]["words"] == [] and abs(chunks[1]["duration_s"] - 1.0) < 0.2
    streamed = [word for item in chunks for word in item["words"]]
    assert streamed == final["timings"]["words"]  # pause_after included
    assert [word["word"] for word in streamed] == text.replace(" [pause 1s]", "").split()
    assert chunks[0]["words"][-1]["pause_after"] == 1.0
