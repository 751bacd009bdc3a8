"""Directing the speech end to end, through ``--rp_serve_api`` with S3 and the tiny F5-TTS (the audio is
noise; the pipeline is real): pronunciations keep every typed word in the JSON words and the SRT, a
``[pause 1.2s]`` tag leaves 1.2 s of silence, and a voice preset's speed changes the audio's length as
the same ``speed`` field does. Timing files are held to the caption rules by ``WorkerAPI.output``."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import requests
import soundfile
import srt

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.media.silence import frame_length, frame_rms, loud_frames
from tests.helpers import espeak_wav

REFERENCE = "The director reads this line clearly for the reference clip."
TYPED = "Chief Okonkwo sent a GIF. Then he ran the SQL query again."


@pytest.fixture(scope="module")
def director(s3_worker, tmp_path_factory) -> str:
    wav = espeak_wav(REFERENCE, tmp_path_factory.mktemp("director") / "ref.wav")
    fields = {"audio": base64.b64encode(wav.read_bytes()).decode(), "text": REFERENCE, "overwrite": True}
    s3_worker.output({"endpoint": "voices", "action": "upload", "name": "e2e-director", **fields})
    return "e2e-director"


def tts(s3_worker, **fields) -> dict:
    job = {"endpoint": "tts", "nfe_step": 4, "seed": 11, "return_audio": "base64", **fields}
    return s3_worker.output(job, timeout=300)


def samples(output: dict) -> np.ndarray:
    audio, rate = soundfile.read(io.BytesIO(base64.b64decode(output["audio"]["base64"])), dtype="float32")
    assert rate == F5_SAMPLE_RATE
    return audio


def longest_silence_s(audio: np.ndarray) -> float:
    loud = loud_frames(frame_rms(audio, frame_length(F5_SAMPLE_RATE)))
    longest = run = 0
    for frame in loud:
        run = 0 if frame else run + 1
        longest = max(longest, run)
    return longest * 0.010


def test_pronunciations_keep_every_typed_word_in_json_words_and_srt(s3_worker, director):
    output = tts(
        s3_worker,
        voice=director,
        text=TYPED,
        pronunciations={"Okonkwo": "oh-KONK-woh", "GIF": "jif", "sql": "sequel"},
        return_word_timings=True,
        timing_formats=["srt", "json"],
    )
    assert output["params"]["normalized_text"] == "Chief oh-KONK-woh sent a jif. Then he ran the sequel query again."
    assert [word["word"] for word in output["timings"]["words"]] == TYPED.split()
    files = output["timings"]["files"]
    json_file = json.loads(requests.get(files["json"]["url"], timeout=10).text)
    assert [word["word"] for word in json_file["words"]] == TYPED.split()
    cues = list(srt.parse(requests.get(files["srt"]["url"], timeout=10).text))
    assert " ".join(cue.content.replace("\n", " ") for cue in cues) == TYPED


def test_a_pause_tag_leaves_that_much_silence(s3_worker, director):
    output = tts(s3_worker, voice=director, text="The first sentence ends here. [pause 1.2s] The second one follows.")
    assert output["params"]["pauses"] == [1.2]
    assert abs(longest_silence_s(samples(output)) - 1.2) <= 0.05


def test_a_presets_speed_changes_the_length_as_the_speed_field_does(s3_worker, director):
    s3_worker.output(
        {
            "endpoint": "voices",
            "action": "alias",
            "name": "e2e-director-fast",
            "alias_of": director,
            "overwrite": True,
            "presets": {"speed": 1.6},
        }
    )
    text = "A voice preset sets how fast this sentence is read aloud."
    base = tts(s3_worker, voice=director, text=text)
    field = tts(s3_worker, voice=director, text=text, speed=1.6)
    preset = tts(s3_worker, voice="e2e-director-fast", text=text)
    assert preset["audio"]["duration_s"] == field["audio"]["duration_s"] < base["audio"]["duration_s"]
    assert np.array_equal(samples(preset), samples(field))  # the same seed, the same settings: the same audio
    overridden = tts(s3_worker, voice="e2e-director-fast", text=text, speed=1.0)
    assert overridden["audio"]["duration_s"] == base["audio"]["duration_s"]
