"""The whole ``tts`` path on real speech: a job's word timings and timing files against ground truth.

The tiny F5-TTS only makes noise, so ``tests.espeak_tts.EspeakTtsEngine`` stands in for it behind the
same interface: it speaks each chunk with espeak-ng and records espeak's word onsets. The job runs
through ``handle_job`` with that engine and the warm forced aligner, and no recogniser at all, so
every word must come from alignment of the chunk it was spoken in.
"""

from __future__ import annotations

import numpy as np
import pysubs2
import pytest

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.engines import Engines
from f5worker.media.silence import long_silence_mask
from f5worker.settings import Settings
from f5worker.timing.aligner import ForcedAligner, spoken_token_map
from tests.espeak_tts import EspeakTtsEngine
from tests.helpers import espeak_wav

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
TEXT = (
    "In 2014, Dr. Tanaka paid $1,250 for a flight to Frankfurt. Professor O'Brien met him at 7:45 pm, "
    "and about 85% of the 1,200 guests stayed until midnight. Then everyone went home, tired but happy. "
    "On Sunday, Maria Gonzalez called Stella from Chicago; the weather, she said, was perfect "
    "for sailing."
)


@pytest.fixture(scope="module")
def speaker() -> EspeakTtsEngine:
    return EspeakTtsEngine()


@pytest.fixture
def ctx(tmp_path, speaker):
    speaker.reset()
    engines = Engines(device="cpu")
    engines.loaded["tts"] = speaker
    engines.load("aligner", ForcedAligner.load)
    ctx = build_context(Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache"), engines=engines)
    ctx.storage.put_bytes("voices/narrator.wav", espeak_wav(REFERENCE_TEXT, tmp_path / "ref.wav").read_bytes())
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    return ctx


def original_truth(truth: list[tuple[str, float | None]], text: str) -> list[float | None]:
    mapping = spoken_token_map(text.split(), [token for token, _ in truth])
    return [truth[indices[0]][1] if indices else None for indices in mapping]


def start_errors_ms(words: list[dict], truth: list[float | None]) -> np.ndarray:
    return np.array([abs(w["start"] - t) * 1000 for w, t in zip(words, truth, strict=True) if t is not None])


@pytest.mark.parametrize("remove_silence", [False, True])
def test_tts_word_timings_match_the_spoken_words(ctx, speaker, remove_silence):
    output = handle_job(
        {
            "id": "job",
            "input": {
                "endpoint": "tts",
                "text": TEXT,
                "voice": "narrator",
                "return_word_timings": True,
                "timing_formats": ["srt", "json"],
                "remove_silence": remove_silence,
            },
        },
        ctx,
    )
    assert "error" not in output, output
    assert output["params"]["chunks"] >= 2
    timings = output["timings"]
    words = timings["words"]
    assert [w["word"] for w in words] == TEXT.split()  # the caller's spelling: "$1,250", "7:45", "85%"
    assert {w["timed_by"] for w in words} == {"aligned"}
    engine = timings["engine"]
    assert engine["name"] == "aligner" and engine["method"] == "pocketsphinx-known-text"
    assert engine["timed_by"] == {"aligned": len(words), "matched": 0, "interpolated": 0}
    assert engine["known_text"]["pieces"] == output["params"]["chunks"]
    assert engine["known_text"]["fallback_pieces"] == []

    speech, spoken_truth = speaker.joined()
    truth = original_truth(spoken_truth, TEXT)
    if remove_silence:
        keep = long_silence_mask(speech, F5_SAMPLE_RATE)
        assert keep.sum() / F5_SAMPLE_RATE == pytest.approx(output["audio"]["duration_s"], abs=0.002)
        kept_before = np.concatenate(([0], np.cumsum(keep)))
        truth = [None if t is None else kept_before[round(t * F5_SAMPLE_RATE)] / F5_SAMPLE_RATE for t in truth]
    errors = start_errors_ms(words, truth)
    assert errors.mean() < 35 and np.percentile(errors, 95) < 100, errors
    assert words[-1]["end"] <= output["audio"]["duration_s"] + 0.001
    for earlier, later in zip(words, words[1:], strict=False):
        assert later["start"] >= earlier["end"] and earlier["end"] - earlier["start"] >= 0.04 - 1e-9

    cues = pysubs2.SSAFile.from_string(timings["files"]["srt"]["text"])
    assert cues[0].start == round(words[0]["start"] * 1000)
