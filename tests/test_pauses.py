"""Pause tags: '[pause 1.5s]' parsed, malformed ones refused naming the tag, never read as a voice tag."""

from __future__ import annotations

import pytest

from f5worker.errors import InvalidInput
from f5worker.media.dialogue import is_dialogue, parse_tagged_text
from f5worker.media.pauses import Pause, has_pause_tags, split_pauses, without_pauses


def test_text_and_pauses_in_order():
    assert split_pauses("First sentence. [pause 1.2s] Second  one.") == [
        "First sentence. ",
        Pause(1.2),
        " Second  one.",
    ]
    assert split_pauses("[PAUSE .5 S]go[pause 10s]") == [Pause(0.5), "go", Pause(10.0)]
    assert split_pauses("a [pause 1s] [pause 0.25s] b") == ["a ", Pause(1.25), " b"]  # adjacent pauses add up
    assert split_pauses("Line one,\n etc.\n") == ["Line one,\n etc.\n"]  # no tags: the text itself
    assert without_pauses("a [pause 1s] b") == "a b"


def test_a_bare_pause_word_or_bracket_is_left_alone():
    assert split_pauses("He paused [briefly] and [pause] went on") == ["He paused [briefly] and [pause] went on"]
    assert not has_pause_tags("He paused [briefly]")
    assert has_pause_tags("wait [pause 2s]")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a [pause 2] b", "'[pause 2]' is malformed"),
        ("a [pause 2ms] b", "is malformed"),
        ("a [pause two s] b", "is malformed"),
        ("a [pause 1.5s b [x]", "has no closing ']'"),
        ("a [pause 1.5s", "has no closing ']'"),
        ("a [pause 0.05s] b", "asks for 0.05 s; a pause is 0.1 to 10 s"),
        ("a [pause 10.5s] b", "asks for 10.5 s"),
    ],
)
def test_malformed_tags_are_refused_naming_the_field(text, problem):
    with pytest.raises(InvalidInput) as caught:
        split_pauses(text, "segments.1.text")
    assert caught.value.message.startswith("segments.1.text: pause tag ")
    assert problem in caught.value.message


def test_a_pause_tag_is_never_a_voice_tag():
    assert not is_dialogue("[pause 1s] Hello")
    segments = parse_tagged_text("[narrator] Hello. [pause 1s] Again. [guest] Hi.")
    assert [(segment.voice, segment.text) for segment in segments] == [
        ("narrator", "Hello. [pause 1s] Again."),
        ("guest", "Hi."),
    ]


def test_a_chunk_loses_only_the_quiet_side_that_meets_a_pause():
    import numpy as np

    from f5worker.media.pauses import trim_for_pause

    rate = 24000
    quiet, tone = np.zeros(rate // 4, dtype=np.float32), np.full(rate // 2, 0.5, dtype=np.float32)
    wave = np.concatenate([quiet, tone, quiet])
    assert trim_for_pause(wave, rate, head=False, tail=True).size == quiet.size + tone.size
    assert trim_for_pause(wave, rate, head=True, tail=False).size == tone.size + quiet.size
    both = trim_for_pause(wave, rate, head=True, tail=True)
    assert both.size == tone.size and both[0] == 0.0 and both[-1] == 0.0 and both[rate // 8] == 0.5  # ramped edges
    assert trim_for_pause(np.zeros(100, dtype=np.float32), rate, head=True, tail=True).size == 100
