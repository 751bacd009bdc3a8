"""The acoustic vote on real espeak-ng speech with the pocketsphinx aligner: which words explain the audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from f5worker.timing import acoustic_vote
from f5worker.timing.aligner import ForcedAligner, speech_bounds
from f5worker.timing.heard_words import HeardWord, match_words
from tests.speech import espeak_speech, load_16k

TEXT = "The captain ordered the sailors to lower the heavy anchor."
CONTENT = {1, 2, 4, 6, 8, 9}  # its content words


@pytest.fixture(scope="module")
def aligner() -> ForcedAligner:
    return ForcedAligner.load()


def spoken(text: str, folder: Path) -> np.ndarray:
    """espeak-ng saying ``text``, at 16 kHz."""
    path = folder / f"{len(list(folder.iterdir()))}.wav"
    espeak_speech(text, path)
    return load_16k(path)


def test_the_words_said_are_chosen_over_a_swap_and_a_drop_in_one_search(aligner, tmp_path):
    audio = spoken(TEXT, tmp_path)
    said = TEXT.split()
    swapped = TEXT.replace("sailors", "elephants").split()
    dropped = TEXT.replace(" sailors", "").split()
    assert aligner.best_alternative(audio, [swapped, said, dropped]) == 1
    assert aligner.best_alternative(spoken(" ".join(swapped), tmp_path), [said, swapped]) == 1
    assert aligner.best_alternative(audio, [said, []]) is None  # an empty alternative: no vote


def test_disputes_lie_between_agreed_words():
    expected = ["the", "captain", "ordered", "the", "sailors", "to", "lower", "the", "heavy", "anchor"]
    heard = ["the", "captain", "ordered", "the", "tailors", "to", "lower", "the", "heavy", "banker"]
    match = match_words(expected, heard)
    # spoken tokens 4 ("sailors") and 9 ("anchor") are disputed; heard word 9 ("banker") too
    found = acoustic_vote.disputes(match, list(range(len(expected))), {4, 9}, {9})
    assert [(d.tokens, d.heard, d.left, d.right) for d in found] == [([4], [4], 3, 5), ([9], [9], 8, None)]


def test_a_misheard_word_is_settled_for_the_text_and_a_swapped_one_for_the_heard_word(aligner, tmp_path):
    tokens = TEXT.split()
    expected = [token.strip(".").lower() for token in tokens]
    for said, heard_word, misheard in (("sailors", "tailors", True), ("elephants", "elephants", False)):
        audio = spoken(TEXT.replace("sailors", said), tmp_path)
        times = aligner.align(audio, tokens).times
        heard = [HeardWord(key, key, *times[k], 1.0) for k, key in enumerate(expected)]
        heard[4] = HeardWord(heard_word, heard_word, *times[4], 1.0)
        match = match_words(expected, [h.key for h in heard])
        review = acoustic_vote.review(
            aligner, audio, tokens, heard, match, range(len(tokens)), {4}, {4}, times.__getitem__
        )
        assert [vote.tokens for vote in review.votes] == [[4]]
        assert review.votes[0].misheard is misheard, review.as_output()
        assert review.status(4, "not_heard") == ("doubtful" if misheard else "not_heard")


class ScriptedChoices:
    """Answers ``best_alternative`` from a script and keeps what it was asked: the vote's own logic,
    apart from the acoustics (which the tests above and tests/test_e2e_stt_verify.py run for real)."""

    def __init__(self, answers: list[int]):
        self.answers = answers
        self.asked: list[list[list[str]]] = []

    def best_alternative(self, audio, alternatives, weights=None):
        self.asked.append(alternatives)
        return self.answers[len(self.asked) - 1]


@pytest.mark.parametrize(("answer", "dropped", "instead"), [(0, set(), set()), (1, {1}, set()), (2, {1}, {1})])
def test_a_word_in_a_dispute_the_text_wins_is_voted_alone(answer, dropped, instead):
    """The text can win a dispute as a whole on a mishearing ("kept in" for "captain") while a word it
    adds beside it ("old") is not in the audio, or another word ("young") is said in its place: each
    unheard word is then voted alone, with, without, and with each added heard word in its place."""
    tokens = ["The", "old", "captain", "ordered", "the", "sailors"]
    keys = ["the", "young", "kept", "in", "ordered", "the", "sailors"]
    heard = [HeardWord(key, key, 0.2 * i, 0.2 * i + 0.15, 0.9) for i, key in enumerate(keys)]
    match = match_words([token.lower() for token in tokens], keys)
    chooser = ScriptedChoices([0, answer])  # the dispute: the text; then the word alone: ``answer``
    audio = np.zeros(2 * 16000, dtype=np.float32)
    spans = [(0.2 * k, 0.2 * k + 0.15) for k in range(len(tokens))].__getitem__
    review = acoustic_vote.review(chooser, audio, tokens, heard, match, {1, 2, 3, 5}, {1}, {1}, spans)
    (vote,) = review.votes
    assert vote.misheard and vote.dropped == dropped and vote.said_instead == instead
    said, without, swapped = chooser.asked[1]
    assert "old" in said and "old" not in without and "young" in swapped and "old" not in swapped
    assert review.status(1, "doubtful") == ("not_heard" if dropped else "doubtful")
    assert (1 in review.misheard_heard) is not bool(instead)  # a word said instead stays an extra word


def test_only_votes_that_all_find_a_mishearing_excuse_the_recognisers_word_errors():
    """The check's word-error-rate rule is the recogniser's when every dispute was misheard (tiny.en
    hearing espeak-ng's "novels one by one" as "levels were, I worked"), not when a word was voted out."""
    tokens = ["The", "old", "captain", "ordered", "the", "sailors"]
    keys = ["the", "young", "kept", "in", "ordered", "the", "sailors"]
    heard = [HeardWord(key, key, 0.2 * i, 0.2 * i + 0.15, 0.9) for i, key in enumerate(keys)]
    match = match_words([token.lower() for token in tokens], keys)
    spans = [(0.2 * k, 0.2 * k + 0.15) for k in range(len(tokens))].__getitem__
    audio = np.zeros(2 * 16000, dtype=np.float32)
    for answers, excused in (([0, 0], True), ([0, 1], False), ([1], False)):
        review = acoustic_vote.review(ScriptedChoices(answers), audio, tokens, heard, match, {1, 2}, {1}, {1}, spans)
        assert review.all_misheard is excused, answers


def test_votes_do_not_fail_a_word_whose_pronunciation_is_guessed():
    """A name the dictionary lacks is aligned with a guessed pronunciation: losing a vote then says as
    much about the guess as about the audio, so it stays doubtful (squeezing can still fail it)."""
    tokens = ["Professor", "Lindqvist", "explained", "it"]
    keys = ["professor", "lent", "this", "to", "explained", "it"]
    heard = [HeardWord(key, key, 0.2 * i, 0.2 * i + 0.15, 0.9) for i, key in enumerate(keys)]
    match = match_words([token.lower() for token in tokens], keys)
    spans = [(0.2 * k, 0.2 * k + 0.15) for k in range(len(tokens))].__getitem__
    audio = np.zeros(2 * 16000, dtype=np.float32)
    review = acoustic_vote.review(ScriptedChoices([1]), audio, tokens, heard, match, {0, 1, 2}, {1}, {1}, spans)
    assert review.votes[0].said_otherwise and review.status(1, "doubtful") == "not_heard"
    review.guessed = {1}
    assert review.status(1, "doubtful") == "doubtful" and review.status(1, "not_heard") == "not_heard"


def test_a_repeat_said_as_one_stretched_word_is_chosen_said_twice(aligner, tmp_path):
    tokens = TEXT.split()
    assert (
        acoustic_vote.merged_repeat(aligner, spoken(TEXT, tmp_path), tokens, 4, lambda k: None, CONTENT) is None
    )  # no span, no vote
    for audio, repeated in (
        (spoken(TEXT.replace("sailors", "sailors sailors"), tmp_path), 4),
        (spoken(TEXT, tmp_path), -1),
    ):
        aligned = aligner.align(audio, tokens)
        paces = [(end - start) / phones for (start, end), phones in zip(aligned.times, aligned.phones, strict=True)]
        stretched = paces.index(max(paces))  # where the aligner put the speech the text lacks
        assert (
            acoustic_vote.merged_repeat(aligner, audio, tokens, stretched, aligned.times.__getitem__, CONTENT)
            == repeated
        )


def test_a_take_cut_inside_its_last_word_is_cut_short(aligner, tmp_path):
    tokens = TEXT.split()
    audio = spoken(TEXT, tmp_path)
    times = aligner.align(audio, tokens).times
    assert acoustic_vote.cut_short(aligner, audio, tokens, times.__getitem__) is None
    start, end = times[-1][0], speech_bounds(audio)[1]
    cut = audio[: round((start + 0.4 * (end - start)) * 16000)]  # "anchor" cut 40 % into its sound
    cut_times = aligner.align(cut, tokens).times
    assert acoustic_vote.cut_short(aligner, cut, tokens, cut_times.__getitem__) == len(tokens) - 1
