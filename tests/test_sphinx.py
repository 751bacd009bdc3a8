"""pocketsphinx frame times, padding, and word starts after silence (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

from f5worker.media.text_normalize import normalize_english
from f5worker.timing.sphinx import (
    ATTEMPTS,
    BOUNDARY_OFFSET_S,
    FRAME_S,
    PADDING_S,
    SILENCE_STATES,
    WINDOW_S,
    SphinxAligner,
    _grammar,
    _path_taken,
    _usable_readings,
    frame_time,
    padded_audio,
)
from tests.speech import espeak_speech, load_16k

RATE = 16000


@pytest.fixture(scope="module")
def sphinx() -> SphinxAligner:
    return SphinxAligner.load()


def test_constants_come_from_the_front_end(sphinx):
    config = sphinx._search(ATTEMPTS[0][0]).decoder.config
    assert (config["wlen"], config["frate"]) == (pytest.approx(WINDOW_S), round(1 / FRAME_S))
    assert 0 < BOUNDARY_OFFSET_S <= WINDOW_S / 2 - FRAME_S / 2  # at most the window-centre shift
    assert PADDING_S >= (SILENCE_STATES - 1) * FRAME_S + WINDOW_S  # a whole pause fits into the padding
    assert frame_time(0) == pytest.approx(BOUNDARY_OFFSET_S)


def test_padding_is_quiet_at_the_recordings_floor():
    rng = np.random.default_rng(0)
    floor = 1e-3
    audio = np.concatenate([rng.standard_normal(RATE // 2) * floor, rng.standard_normal(RATE) * 0.2]).astype(np.float32)
    padded = padded_audio(audio)
    size = round(PADDING_S * RATE)
    assert padded.size == audio.size + 2 * size
    np.testing.assert_array_equal(padded[size:-size], audio)
    for side in (padded[:size], padded[-size:]):
        assert float(np.sqrt(np.mean(side.astype(np.float64) ** 2))) == pytest.approx(floor, rel=0.5)


@pytest.mark.parametrize("lead_in_s", [0.0, 0.02, 0.035])
def test_a_lead_in_shorter_than_a_pause_is_not_given_to_the_first_word(tmp_path, sphinx, lead_in_s):
    text = "Honestly, we should wait until the morning."
    truth = espeak_speech(normalize_english(text), tmp_path / "s.wav")
    speech = load_16k(tmp_path / "s.wav")
    quiet = np.random.default_rng(1).standard_normal(round(lead_in_s * RATE)).astype(np.float32) * 1e-4
    times = sphinx.align(np.concatenate([quiet, speech]), text.split())
    assert times is not None
    starts = [span[0] for span in times.times]
    assert abs(starts[0] - (truth[0][1] + lead_in_s)) < 0.015, starts[0]
    after_comma = truth[1][1] + lead_in_s  # "we", after a pause
    assert abs(starts[1] - after_comma) < 0.025, (starts[1], after_comma)
    assert all(0.0 <= start <= speech.size / RATE + lead_in_s for start in starts)


AMOUNT = "Mrs. Dubois paid $12.80 for the tickets."


@pytest.mark.parametrize("said", ["written", "normalised"])
def test_the_search_takes_the_reading_of_an_amount_that_was_said(sphinx, said):
    """Piper (phonemised by espeak-ng) says "$12.80" as "dollar twelve point eight zero"; the normaliser
    as "twelve dollars eighty". Given both readings, the aligner follows the one in the audio."""
    from tests.piper_speech import speak, word_times

    utterance = speak(AMOUNT if said == "written" else normalize_english(AMOUNT), noise_scale=0.0)
    truth = [word.start_s for word in word_times(utterance)]
    tokens = ["Missus.", "Dubois", "paid", "twelve", "dollars", "eighty", "for", "the", "tickets."]
    after = truth[4] if said == "written" else truth[6]  # "for"
    times = sphinx.align(utterance.audio, tokens, {(3, 6): ["$12.80", "twelve eighty"]})
    assert times is not None and abs(times.times[6][0] - after) < 0.04, (times.times[6][0], after)
    spans = [span for span in times.times if span is not None]
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))  # ordered
    if said == "written":  # with one reading only, the shorter text pulls the next words in
        alone = sphinx.align(utterance.audio, tokens)
        assert alone is not None and alone.times[6][0] < after - 0.15, (alone.times[6][0], after)


def test_readings_that_overlap_or_say_nothing_are_left_out():
    words = [["paid"], ["twelve"], ["dollars"], [], ["x"]]
    usable = _usable_readings({(1, 3): ["$12.80,"], (2, 4): ["y"], (3, 4): ["z"], (4, 5): [" "]}, words)
    assert usable == {(1, 3): ["$12.80"]}
    names = {"paid": "paid", "twelve": "twelve", "dollars": "dollars", "x": "x"}
    grammar, sequence = _grammar(["paid", "twelve", "dollars,", "—", "x"], words, names, {1: (3, ["r_1"])})
    assert "paid ( twelve dollars | r_1 ) [sp] x [sp] ;" in grammar
    assert _path_taken(["paid", "r_1", "x"], sequence, {1: (3, ["r_1"])}) == [
        ("paid", range(0, 1)),
        ("r_1", range(1, 3)),
        ("x", range(4, 5)),
    ]
    assert _path_taken(["paid", "twelve", "x"], sequence, {1: (3, ["r_1"])}) is None


def test_a_run_whose_first_token_says_nothing_still_takes_its_other_reading():
    words = [["paid"], [], ["five"], ["x"]]
    names = {"paid": "paid", "five": "five", "x": "x"}
    groups = {1: (3, ["r_1"])}
    grammar, sequence = _grammar(["paid", "—", "five", "x"], words, names, groups)
    assert "paid ( [sp] five | r_1 ) x" in grammar  # "—" allows a pause
    assert _path_taken(["paid", "r_1", "x"], sequence, groups)[1] == ("r_1", range(1, 3))


def test_an_audios_word_times_do_not_depend_on_what_was_aligned_before(sphinx):
    """pocketsphinx's front end keeps its noise and cepstral-mean estimates from one utterance to the next; a
    warm worker must give one audio the same times whatever it aligned before (a word moved by 30 ms)."""
    from tests.piper_speech import speak

    texts = ["The old lighthouse stood alone at the edge of the cliff.", "Why would anyone build a house there?"]
    said = [
        speak(normalize_english(text), length_scale=1.25 - 0.4 * index, noise_scale=0.0)
        for index, text in enumerate(texts)
    ]
    other = said[1].audio
    first = sphinx.align(said[0].audio, texts[0].split())
    for before in (other, (other + np.random.default_rng(3).standard_normal(other.size) * 0.02).astype(np.float32)):
        sphinx.align(before, texts[1].split())
        assert sphinx.align(said[0].audio, texts[0].split()) == first
