"""Chunking keeps every character in order and prefers sentence, then clause, then word boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from f5worker.audio_rates import F5_HOP_LENGTH, F5_SAMPLE_RATE
from f5worker.media.chunking import (
    CHUNK_TARGET_S,
    MIN_CHUNK_CHARS,
    MODEL_MAX_CHUNK_S,
    chunk_budget,
    chunk_durations,
    split_text,
)
from f5worker.settings import Settings


def test_short_text_is_one_chunk_with_whitespace_normalised():
    assert split_text("  Hello,\n  world!\t", 100) == ["Hello, world!"]


def test_empty_text_gives_no_chunks():
    assert split_text(" \n ", 10) == []


def test_sentences_are_packed_up_to_the_limit():
    text = "One two three. Four five six. Seven eight nine."
    assert split_text(text, 30) == ["One two three. Four five six.", "Seven eight nine."]
    assert split_text(text, 15) == ["One two three.", "Four five six.", "Seven eight", "nine."]


def test_long_sentence_breaks_at_clauses_before_words():
    text = "First part here, second part here; third part here: and the end."
    assert split_text(text, 35) == ["First part here, second part here;", "third part here: and the end."]


def test_sentence_end_is_preferred_over_a_fuller_chunk():
    text = "Short one. This sentence is long enough that it needs its own chunk."
    chunks = split_text(text, 60)
    assert chunks == ["Short one.", "This sentence is long enough that it needs its own chunk."]


def test_quotes_and_dashes_count_as_boundaries():
    text = '"He left." She stayed — for a while — then went, quietly.'
    assert split_text(text, 20) == ['"He left."', "She stayed —", "for a while —", "then went, quietly."]


def test_over_long_word_stays_whole():
    assert split_text("a supercalifragilistic b", 5) == ["a", "supercalifragilistic", "b"]


def test_max_chars_must_be_positive():
    with pytest.raises(ValueError, match="max_chars"):
        split_text("text", 0)


TEXT = st.lists(
    st.one_of(
        st.text(alphabet="abcdefghij", min_size=1, max_size=12),
        st.sampled_from([".", ",", ";", ":", "—", "!", "?", "…", '"', "'", ")", "-", "--", "Dr.", 'end."', "a,b"]),
    ),
    max_size=60,
).flatmap(
    lambda words: st.tuples(
        st.just(words),
        st.lists(st.sampled_from([" ", "  ", "\n", "\t", " \n "]), min_size=len(words), max_size=len(words)),
    )
)


def _joined(parts) -> str:
    words, spaces = parts
    return "".join(space + word for word, space in zip(words, spaces, strict=True))


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=80))
def test_chunks_rejoin_to_the_normalised_text(parts, max_chars):
    text = _joined(parts)
    assert " ".join(split_text(text, max_chars)) == " ".join(text.split())


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=80))
def test_chunks_fit_unless_a_single_word(parts, max_chars):
    for chunk in split_text(_joined(parts), max_chars):
        assert chunk and chunk == chunk.strip()
        assert len(chunk) <= max_chars or " " not in chunk


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="abcdefg", min_size=1, max_size=10), min_size=1, max_size=40),
    st.integers(min_value=20, max_value=80),
)
def test_whole_sentences_are_never_split_when_they_fit(words, max_chars):
    sentences = [" ".join(words[i : i + 3]) + "." for i in range(0, len(words), 3)]
    fitting = {s for s in sentences if len(s) <= max_chars}
    chunks = split_text(" ".join(sentences), max_chars)
    for sentence in fitting:
        assert any(sentence in chunk for chunk in chunks)
    for chunk in chunks:
        if all(len(s) <= max_chars for s in sentences):
            assert chunk.endswith(".")


def test_budget_follows_the_reference_speaking_rate():
    # 60 characters in 4 s is 15 characters a second; 18 s remain under f5-tts's 22 s budget.
    ref_text = "x" * 60
    assert chunk_budget(ref_text, 4.0, 1.0) == int(60 / 4.0 * (CHUNK_TARGET_S - 4.0))
    assert chunk_budget(ref_text, 4.0, 1.0, max_seconds=25.0) == 15 * 21
    assert chunk_budget(ref_text, 4.0, 2.0) == 2 * chunk_budget(ref_text, 4.0, 1.0)


def test_budget_matches_f5_tts_for_english():
    # f5-tts infer_process: int(len(ref_text bytes) / ref_sec * (22 - ref_sec) * speed)
    ref_text, ref_sec, speed = "Some call me nature, others call me mother nature. ", 5.3, 0.9
    assert chunk_budget(ref_text, ref_sec, speed) == int(len(ref_text.strip()) / ref_sec * (22 - ref_sec) * speed)


def test_budget_never_drops_below_a_speakable_chunk():
    assert chunk_budget("Hi.", 12.0, 1.0) == MIN_CHUNK_CHARS
    assert chunk_budget("A long reference text.", 30.0, 1.0) == MIN_CHUNK_CHARS


@pytest.mark.parametrize(("ref_text", "seconds", "speed"), [("", 3.0, 1.0), ("text", 0.0, 1.0), ("text", 3.0, 0.0)])
def test_budget_rejects_unusable_input(ref_text, seconds, speed):
    with pytest.raises(ValueError):
        chunk_budget(ref_text, seconds, speed)


def test_fixed_duration_is_shared_by_text_length():
    ref = 250 * F5_HOP_LENGTH  # a whole number of hops, as f5-tts counts the reference
    ref_s = ref / F5_SAMPLE_RATE
    assert chunk_durations(None, ref, ["a", "b"], 0.15) == [None, None]
    assert chunk_durations(10.0, ref, ["abc"], 0.15) == [10.0]
    durations = chunk_durations(10.0, ref, ["ab", "abcdef"], 0.2)
    generated = 10.0 - ref_s + 0.2  # plus the one cross-fade that overlaps
    assert durations == pytest.approx([ref_s + generated / 4, ref_s + generated * 3 / 4])


def test_the_model_limit_is_its_frame_window_in_seconds():
    assert pytest.approx(87.38, abs=0.01) == MODEL_MAX_CHUNK_S  # 8192 frames of 256 samples at 24 kHz
    assert CHUNK_TARGET_S < MODEL_MAX_CHUNK_S


def test_the_target_setting_defaults_to_the_target_and_stays_under_the_model_limit():
    field = Settings.model_fields["chunk_target_s"]
    assert field.default == CHUNK_TARGET_S
    assert max(m.le for m in field.metadata if getattr(m, "le", None) is not None) < MODEL_MAX_CHUNK_S
