"""Misheard, or said? The aligner's acoustic vote on the words the recogniser and the text dispute.

Part of the script check (:mod:`.script_check`). From the recogniser's words alone a mishearing and
a real change look the same: tiny.en hears espeak-ng's "a curious squirrel stole the peanuts" as
"curious world, all the best", and a take that really says "elephant" for "vase" is heard as
"elephant". The forced aligner settles it acoustically: over the same stretch of audio (the disputed
words with one agreed word either side) it forces (a) the text's words and (b) the words the
recogniser heard, as the two branches of one grammar, and lets the best path choose. Both branches
cover the same frames in the same search, so the choice is a likelihood-ratio test that needs no
calibration: pocketsphinx's per-word ``ascore`` alone has no scale, and neither have the scores
of two separate searches (each frame is scored against the best state active in that search, so
a grammar without the right words is excused much of its mismatch; measured: a trailing pause
"explained" a repeated word better than the word itself). The text chosen: the recogniser
misheard; the heard words chosen: the take says something else.

A repeat the recogniser merged into one word is tested the same way: the text against the text with
the most stretched word said twice.

Only disputed stretches are scored: a chunk the recogniser hears as written costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from .aligner import speech_bounds
from .heard_words import HEARD_SIMILARITY, HeardWord, WordMatch
from .recogniser_mapping import normalize_token

CONTEXT_S = 0.1  # audio kept either side of the agreed words around a dispute
# Prior odds of the text against the heard words (JSGF weights; 1: the acoustics alone decide).
TEXT_WEIGHT = 1.0
ONCE_WEIGHT = 1.0  # of a stretched word said once against said twice
CUT_CONTEXT = 2  # words before the last one scored with it in the cut-off vote
# The cut vote runs only when speech ends this close to the end of the audio (a take cut inside its
# last word has no pause after it; tuning set: cut takes 0-0.055 s, whole takes 0.057-0.43 s).
CUT_TAIL_S = 0.1
CUT_MIN_PHONES = 3  # shorter last words are not tested for a cut (half a word would be one phone)
REPEAT_REACH = 3  # words before the most stretched one that may be the repeated one
STRETCH_VOTE = 1.6  # a word this many times slower than the chunk's pace is tested for a merged repeat


class ChoosesPaths(Protocol):
    def best_alternative(self, audio: np.ndarray, alternatives: list[list[str]], weights=None) -> int | None: ...


@dataclass
class Dispute:
    """Text words (spoken-token indices) and heard words (indices) between two agreed words."""

    tokens: list[int]
    heard: list[int]
    left: int | None  # the agreed token before (None: the start of the audio)
    right: int | None  # the agreed token after (None: the end)
    heard_left: int | None = None  # the heard words the agreed tokens were heard as
    heard_right: int | None = None


@dataclass
class Vote:
    tokens: list[int]
    heard: list[int]
    misheard: bool  # the text's words explain the audio better than the heard ones
    seconds: float
    dropped: set[int] = field(default_factory=set)  # unheard text words the audio is better without
    said_instead: set[int] = field(default_factory=set)  # heard words the audio says in a dropped word's place

    @property
    def said_otherwise(self) -> bool:
        return not self.misheard

    def as_output(self, tokens: Sequence[str], heard: Sequence[HeardWord]) -> dict:
        return {
            "text": " ".join(tokens[k] for k in self.tokens),
            "heard": " ".join(heard[h].key for h in self.heard),
            "verdict": "misheard" if self.misheard else "said",
            "not_said": [tokens[k] for k in sorted(self.dropped)],
        }


def disputes(
    match: WordMatch, spoken_index: Sequence[int], disputed_tokens: set[int], disputed_heard: set[int]
) -> list[Dispute]:
    """Stretches between agreed words (one text word heard as itself, by one heard word) that hold a
    disputed text word or heard word; everything between the agreed words is in the dispute."""
    token_at = {index: k for index, k in enumerate(spoken_index)}
    owners: dict[int, list[int]] = {}
    for index, heard in enumerate(match.expected_heard):
        for h in heard:
            owners.setdefault(h, []).append(index)
    anchors = [(-1, -1)]
    for index, heard in enumerate(match.expected_heard):
        if (
            len(heard) == 1
            and owners[heard[0]] == [index]
            and match.expected_cover[index] >= HEARD_SIMILARITY
            and token_at[index] not in disputed_tokens
            and heard[0] not in disputed_heard
            and heard[0] > anchors[-1][1]
        ):
            anchors.append((index, heard[0]))
    anchors.append((len(spoken_index), len(match.heard_cover)))
    found = []
    for (e0, h0), (e1, h1) in zip(anchors, anchors[1:], strict=False):
        tokens = [token_at[index] for index in range(e0 + 1, e1)]
        heard = list(range(h0 + 1, h1))
        if disputed_tokens.intersection(tokens) or disputed_heard.intersection(heard):
            left, heard_left = (token_at[e0], h0) if e0 >= 0 else (None, None)
            right, heard_right = (token_at[e1], h1) if e1 < len(spoken_index) else (None, None)
            found.append(Dispute(tokens, heard, left, right, heard_left, heard_right))
    return found


def settle(
    aligner: ChoosesPaths,
    audio: np.ndarray,
    tokens: Sequence[str],
    heard: Sequence[HeardWord],
    found: list[Dispute],
    span_of: Callable[[int], tuple[float, float] | None],
    unheard: set[int] = frozenset(),
    added: set[int] = frozenset(),
) -> list[Vote]:
    """Each dispute scored: the text's words against the heard words over the same audio. A dispute is
    voted as a whole, so where the text wins (a mishearing nearby, "Talena" for "Helena", can carry
    it) each ``unheard`` content word in it is voted alone too: the text with it, without it, and with
    each ``added`` heard word of the dispute in its place, over the same audio; the audio better
    without it did not say it, and one better with a heard word in its place says that word instead."""
    votes = []
    duration = len(audio) / SPEECH_SAMPLE_RATE
    spoken = [k for k, token in enumerate(tokens) if normalize_token(token)]
    for dispute in found:
        # Context: the agreed word either side and the word beyond it, in both readings, from
        # wherever the aligner or the recogniser put them (the aligner forced the text, so its spans
        # near the dispute may be wrong). Two shared words at each edge: a reading with more words
        # cannot shift its last one onto the next word's onset, which the other must call a pause.
        before = _context(spoken, dispute.left, -1)
        after = _context(spoken, dispute.right, 1)
        start, end = 0.0, duration
        if before:
            start = min(_edge(span_of(before[0]), 0, duration), heard[dispute.heard_left].start)
        if after:
            end = max(_edge(span_of(after[-1]), 1, 0.0), heard[dispute.heard_right].end)
        for h in dispute.heard:
            start, end = min(start, heard[h].start), max(end, heard[h].end)
        said = [tokens[k] for k in [*before, *dispute.tokens, *after]]
        heard_words = [tokens[k] for k in before] + [_heard_token(heard, h) for h in dispute.heard]
        heard_words += [tokens[k] for k in after]
        choice = _choose(aligner, audio, start, end, [said, heard_words], TEXT_WEIGHT)
        if choice is None:
            continue
        vote = Vote(dispute.tokens, dispute.heard, choice == 0, end - start)
        if vote.misheard:
            context = [*before, *dispute.tokens, *after]
            instead = [h for h in dispute.heard if h in added]
            for k in [k for k in dispute.tokens if k in unheard]:
                without = [tokens[j] for j in context if j != k]
                swapped = [[_heard_token(heard, h) if j == k else tokens[j] for j in context] for h in instead]
                choice = _choose(aligner, audio, start, end, [said, without, *swapped], TEXT_WEIGHT)
                if choice:
                    vote.dropped.add(k)
                if choice and choice >= 2:
                    vote.said_instead.add(instead[choice - 2])
        votes.append(vote)
    return votes


def merged_repeat(
    aligner: ChoosesPaths, audio: np.ndarray, tokens: Sequence[str], k: int, span_of: Callable, content: set[int]
) -> int | None:
    """The token at or before ``k`` (the most stretched one) that the audio says twice, or -1 when it
    says every token once; None when no vote could be taken. One search: the words around ``k``
    once, against the same words with each one of ``k`` and the REPEAT_REACH before it doubled in
    turn (the aligner spreads the speech of a repeat over the words after it, so the repeated word
    is not always the stretched one, but it comes no later). Only ``content`` tokens are tried
    doubled: a short function word doubled fits almost any slack."""
    near = [j for j in range(k - REPEAT_REACH, k + 2) if 0 <= j < len(tokens) and span_of(j)]
    if k not in near:
        return None
    start, end = min(span_of(j)[0] for j in near), max(span_of(j)[1] for j in near)
    doubled_at = [j for j in near if j in content and j <= k]
    if not doubled_at:
        return -1
    once = [tokens[j] for j in near]
    alternatives = [once] + [
        [word for j in near for word in ([tokens[j].rstrip(",.;:!?"), tokens[j]] if j == doubled else [tokens[j]])]
        for doubled in doubled_at
    ]
    choice = _choose(aligner, audio, start, end, alternatives, ONCE_WEIGHT)
    return None if choice is None else doubled_at[choice - 1] if choice else -1


def cut_short(aligner, audio: np.ndarray, tokens: Sequence[str], span_of: Callable) -> int | None:
    """The last spoken token when the end of the audio is better explained by the first half of its
    phones (then a pause) than by the whole word: one search over the last few words."""
    timed = [k for k in range(len(tokens)) if span_of(k)]
    phones = getattr(aligner, "phones", None)
    if not timed or phones is None or len(audio) / SPEECH_SAMPLE_RATE - speech_bounds(audio)[1] > CUT_TAIL_S:
        return None
    last = timed[-1]
    word = normalize_token(tokens[last])
    said = (phones(word) or "").split()
    if len(said) < CUT_MIN_PHONES:
        return None
    tail = timed[-CUT_CONTEXT - 1 :]
    cut_word = word + "'cut"  # a made-up word: the first half of the last word's phones
    half = " ".join(said[: (len(said) + 1) // 2])
    alternatives = [[tokens[k] for k in tail], [tokens[k] for k in tail[:-1]] + [cut_word]]
    start = max(span_of(tail[0])[0] - CONTEXT_S, 0.0)
    piece = audio[round(start * SPEECH_SAMPLE_RATE) :]
    choice = aligner.best_alternative(piece, alternatives, None, {cut_word: half})
    return last if choice == 1 else None


def _context(spoken: list[int], k: int | None, step: int) -> list[int]:
    """The agreed token ``k`` and the spoken token beyond it (``step`` -1: before, 1: after), in order."""
    if k is None:
        return []
    position = spoken.index(k)
    beyond = position + step
    words = [k, spoken[beyond]] if 0 <= beyond < len(spoken) else [k]
    return words if step > 0 else words[::-1]


def _edge(span: tuple[float, float] | None, side: int, default: float) -> float:
    return default if span is None else span[side]


def _heard_token(heard: Sequence[HeardWord], h: int) -> str:
    """The heard key with the punctuation the recogniser wrote after it (an optional pause there)."""
    word = heard[h]
    last = h + 1 == len(heard) or (heard[h + 1].start, heard[h + 1].text) != (word.start, word.text)
    tail = word.text[len(word.text.rstrip(",.;:!?")) :] if last else ""
    return word.key + tail


def _choose(aligner, audio, start: float, end: float, alternatives: list[list[str]], weight: float) -> int | None:
    """The alternative audio[start - CONTEXT_S : end + CONTEXT_S] says (the first weighted ``weight``)."""
    start = max(start - CONTEXT_S, 0.0)
    end = min(end + CONTEXT_S, len(audio) / SPEECH_SAMPLE_RATE)
    if not all(alternatives) or end <= start:
        return None
    piece = audio[round(start * SPEECH_SAMPLE_RATE) : round(end * SPEECH_SAMPLE_RATE)]
    return aligner.best_alternative(piece, alternatives, [weight] + [1.0] * (len(alternatives) - 1))


@dataclass
class Review:
    """What the votes settled, for the script check to apply."""

    aligner: ChoosesPaths
    audio: np.ndarray
    tokens: Sequence[str]
    span_of: Callable[[int], tuple[float, float] | None]
    votes: list[Vote]
    heard: Sequence[HeardWord]
    content: set[int]
    repeat: int | None = None  # the merged-repeat vote: the token said twice, -1: none, None: not taken
    # Tokens whose pronunciation is guessed (not in the dictionary: names): losing a vote says as much
    # about the guess as about the audio, so the votes do not fail them (squeezing still can).
    guessed: set[int] = field(default_factory=set)
    cut: int | None = None  # the cut-off vote: the last token, said only in part

    @property
    def all_misheard(self) -> bool:
        """Every dispute voted a mishearing, with no word voted out alone."""
        return bool(self.votes) and all(vote.misheard and not vote.dropped for vote in self.votes)

    @property
    def misheard_heard(self) -> set[int]:
        return {h for vote in self.votes if vote.misheard for h in vote.heard if h not in vote.said_instead}

    def status(self, k: int, status: str) -> str:
        """A word the recogniser did not hear: doubtful when the text explains the audio, not heard
        when the recogniser's words explain it clearly better."""
        for vote in self.votes:
            if k in vote.dropped and k not in self.guessed:
                return "not_heard"
            if k in vote.tokens and vote.misheard and status == "not_heard":
                return "doubtful"
            if k in vote.tokens and vote.said_otherwise and status == "doubtful" and k not in self.guessed:
                return "not_heard"
        return status

    def merged_repeat(self, k: int | None, stretch: float | None) -> int | None:
        """The token said twice near token ``k`` (stretched ``stretch`` times the pace), if any."""
        if k is None or (stretch or 0) < STRETCH_VOTE:
            return None
        self.repeat = merged_repeat(self.aligner, self.audio, self.tokens, k, self.span_of, self.content)
        return None if self.repeat is None or self.repeat < 0 else self.repeat

    def second_look(self, k: int | None, stretch: float | None) -> int | None:
        """The votes that can only fail a take: a merged repeat near token ``k`` (the most stretched,
        ``stretch`` times the pace: the token said twice is returned), else a cut last word."""
        twice = self.merged_repeat(k, stretch)
        if twice is None:
            self.cut_short()
        return twice

    def cut_short(self) -> int | None:
        """The last token when the audio says only its first half (a take cut off inside its last word)."""
        self.cut = cut_short(self.aligner, self.audio, self.tokens, self.span_of)
        return self.cut

    def as_output(self) -> dict:
        """The votes for the check's ``aligner`` report: each dispute's verdict, the repeat and the cut found."""
        cut = None if self.cut is None else self.tokens[self.cut]
        repeat = None if self.repeat is None or self.repeat < 0 else self.tokens[self.repeat]
        disputes = [vote.as_output(self.tokens, self.heard) for vote in self.votes]
        return {"disputes": disputes, "repeat": repeat, "cut_short": cut}


def review(
    aligner: ChoosesPaths,
    audio: np.ndarray,
    tokens: Sequence[str],
    heard: Sequence[HeardWord],
    match: WordMatch,
    content: set[int],
    disputed_tokens: set[int],
    disputed_heard: set[int],
    span_of: Callable[[int], tuple[float, float] | None],
) -> Review:
    """The acoustic votes on every dispute between the text and the recogniser's words. ``content``:
    the spoken tokens that are content words (only they may be found repeated)."""
    spoken_index = [k for k, token in enumerate(tokens) if normalize_token(token)]
    found = disputes(match, spoken_index, disputed_tokens, disputed_heard)
    votes = settle(aligner, audio, tokens, heard, found, span_of, disputed_tokens, disputed_heard)
    return Review(aligner, audio, tokens, span_of, votes, heard, content)
