"""stt without text: the recognised words force-aligned, with the recogniser's written forms read as spoken."""

from __future__ import annotations

import functools

import pytest

from f5worker.media.text_normalize import normalize_english
from f5worker.timing.aligner import ForcedAligner, Piece, spoken_token_map
from f5worker.timing.recognised_alignment import align_recognised, clock_times, marked_pieces, with_closing_marks
from f5worker.timing.transcript import Segment, Transcript
from f5worker.words import Word
from tests.piper_speech import speak, word_times


@functools.lru_cache(maxsize=1)
def aligner() -> ForcedAligner:
    return ForcedAligner.load()


@pytest.mark.parametrize(
    ("recognised", "said"),
    [
        ("arrived at 8.20 on", "arrived at 8:20 on"),
        ("at 820, then", "at 8:20, then"),
        ("open until 11.45.", "open until 11:45."),
        ("At 1130 sharp", "At 11:30 sharp"),
        ("at 100 degrees", "at 100 degrees"),  # minutes "00": a number, not one o'clock
        ("at 1260 metres", "at 1260 metres"),  # no minute 60
        ("about 1130 people", "about 1130 people"),  # a run of digits is a time only after "at"
        ("pi is 3.14", "pi is 3.14"),  # a decimal with nothing introducing a time
        ("moved from 3.10 to 3.12", "moved from 3.10 to 3.12"),  # "from" introduces quantities too
        ("fell by 0.25% today", "fell by 0.25% today"),
        ("around 1.25 million", "around 1.25 million"),
        ("bake at 350 degrees", "bake at 350 degrees"),  # a unit after it: a quantity
        ("at 130 mph", "at 130 mph"),
        ("at 1.25 million", "at 1.25 million"),
        ("at 2.25% interest", "at 2.25% interest"),
        ("at 8.20, then", "at 8:20, then"),
    ],
)
def test_a_recognised_clock_time_is_read_as_one(recognised, said):
    assert clock_times(recognised.split()) == said.split()


def test_a_dropped_full_stop_comes_back_so_the_aligner_may_place_a_pause_there():
    tokens = ["Mrs.", "Dubois", "met", "Dr.", "Nakamura,", "twice."]
    spoken = normalize_english(" ".join(tokens)).split()
    assert spoken[0] == "Missus" and spoken[3] == "Doctor"
    marked = with_closing_marks(tokens, spoken, spoken_token_map(tokens, spoken))
    assert marked == ["Missus.", "Dubois", "met", "Doctor.", "Nakamura,", "twice."]


def test_pieces_keep_their_cuts_and_align_the_marked_words():
    """The marks change what is aligned, not where long audio is cut ("Doctor." is no sentence end)."""
    pieces = [Piece(0, ["Ask", "Doctor"], 0.0, 31.0, "0"), Piece(2, ["Nakamura", "now."], 31.0, 62.0, "1")]
    marked = marked_pieces(pieces, ["Ask", "Doctor.", "Nakamura", "now."])
    assert [(p.first, p.tokens, p.start, p.end) for p in marked] == [
        (0, ["Ask", "Doctor."], 0.0, 31.0),
        (2, ["Nakamura", "now."], 31.0, 62.0),
    ]


def recognised(text: str, duration: float) -> Transcript:
    """A transcript as a recogniser gives it: the words spread evenly (rough times, as Whisper's are)."""
    tokens = text.split()
    step = duration / len(tokens)
    words = [Word(word=token, start=i * step, end=(i + 1) * step, confidence=0.9) for i, token in enumerate(tokens)]
    return Transcript(
        text=text, language="en", segments=[Segment(0.0, duration, text, words)], engine="whisperx", method="test"
    )


def test_a_name_after_an_abbreviation_starts_where_the_voice_resumes_after_its_pause():
    """The voice (espeak-ng's reading, as Piper's) pauses after "Dr."; the name must not start in that pause."""
    text = "Dr. Nakamura arrived in Oslo at 8:20 on a cold morning."
    utterance = speak(text, noise_scale=0.0)
    truth = {word.token: word.start_s for word in word_times(utterance)}
    heard = text.replace("8:20", "8.20")  # as Whisper writes it
    aligned = align_recognised(aligner(), utterance.audio, recognised(heard, utterance.audio.size / 16000))
    starts = {word.word: word.start for word in aligned.words}
    assert [word.word for word in aligned.words] == heard.split()
    assert all(word.timed_by == "aligned" for word in aligned.words)
    assert abs(starts["Nakamura"] - truth["Nakamura"]) < 0.04, (starts["Nakamura"], truth["Nakamura"])
    assert abs(starts["on"] - truth["on"]) < 0.04, (starts["on"], truth["on"])


@pytest.mark.parametrize("said", ["written", "normalised"])
def test_an_amount_is_aligned_in_the_reading_that_was_said(said):
    """The voice says "$12.80" as espeak-ng reads it ("dollar twelve point eight zero") or as the
    normaliser does; the aligner is offered both and "for" lands on its sound either way."""
    text = "Mrs. Dubois paid $12.80 for the tickets."
    utterance = speak(text if said == "written" else normalize_english(text), noise_scale=0.0)
    truth = [word.start_s for word in word_times(utterance)]
    after = truth[text.split().index("for") if said == "written" else normalize_english(text).split().index("for")]
    aligned = align_recognised(aligner(), utterance.audio, recognised(text, utterance.audio.size / 16000))
    starts = [word.start for word in aligned.words]
    assert [word.word for word in aligned.words] == text.split()
    assert abs(starts[4] - after) < 0.04, (starts[4], after)
    assert starts == sorted(starts)
