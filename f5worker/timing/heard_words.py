"""The recogniser's words matched to the words a text should say: letters, not only whole words.

Part of the script check (:mod:`.script_check`): a recogniser splits and spells words its own way
("light housekeeper" for "lighthouse keeper", "rail and" for "railing", "Stellar"), so heard words
are matched to the expected ones letter by letter between runs of equal words, and words left over on
both sides are paired when they look or sound alike (CMU phones from the aligner's dictionary).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from ..media.text_normalize import normalize_english
from .recogniser_mapping import normalize_token

if TYPE_CHECKING:
    from ..words import Word

# Word matching (recogniser round trip): similarity of comparison keys (difflib ratio).
HEARD_SIMILARITY = 0.75  # at or above: the recogniser heard this word
SAME_SOUND_SIMILARITY = 0.5  # below: another word was heard (or none)
PAIR_SIMILARITY = 0.55  # words left over on both sides are one misheard word when this alike (letters or phones)
ANCHOR_WORDS = 3  # runs of this many equal words are matched as words; letters in between
MIN_LETTER_RUN = 2  # single matching letters between different words are chance
EXTRA_COVER = 0.34  # a heard word with fewer of its letters in the text is extra
LEFTOVER_LETTERS = 4  # this many unmatched letters in a row inside a heard word are an extra word
EXTRA_PROBABILITY = 0.4  # extra words the recogniser is less sure of are not counted


@dataclass
class WordMatch:
    """How the recogniser's words cover the expected ones: the share of each word's letters matched."""

    expected_cover: list[float]
    expected_heard: list[list[int]]  # the heard words that share letters with each expected word
    heard_cover: list[float]
    heard_follows: list[int]  # the expected word each heard word comes after (-1: before the first)
    heard_leftover: dict[int, str] = field(default_factory=dict)  # a long unmatched run in a matched word
    errors: float = 0.0  # word errors, as in a word error rate


def word_similarity(left: str, right: str) -> float:
    return 1.0 if left == right else SequenceMatcher(None, left, right, autojunk=False).ratio()


def match_words(
    expected: Sequence[str], heard: Sequence[str], phones: Callable[[str], str | None] | None = None
) -> WordMatch:
    """Expected keys matched to heard keys: runs of equal words first, then, between them, letters.

    Matching letters rather than words absorbs a recogniser's different word boundaries ("light
    housekeeper" for "lighthouse keeper", "rail and" for "railing") and near spellings ("Stellar"),
    while a dropped, added or swapped word keeps (almost) no matched letters.
    """
    match = WordMatch([0.0] * len(expected), [[] for _ in expected], [0.0] * len(heard), [-1] * len(heard))
    matcher = SequenceMatcher(None, list(expected), list(heard), autojunk=False)
    last_e = last_h = 0
    anchors = [block for block in matcher.get_matching_blocks() if block.size >= ANCHOR_WORDS or block.size == 0]
    for block in anchors:
        _match_letters(expected, heard, last_e, block.a, last_h, block.b, match, phones)
        for step in range(block.size):
            e, h = block.a + step, block.b + step
            match.expected_cover[e] = match.heard_cover[h] = 1.0
            match.expected_heard[e] = [h]
            match.heard_follows[h] = e
        last_e, last_h = block.a + block.size, block.b + block.size
    return match


def _match_letters(expected, heard, e0: int, e1: int, h0: int, h1: int, match: WordMatch, phones=None) -> None:
    """Letter-level matching of expected[e0:e1] with heard[h0:h1] (usually a few words each)."""
    for h in range(h0, h1):
        match.heard_follows[h] = e0 - 1
    if e0 == e1 or h0 == h1:
        match.errors += max(e1 - e0, h1 - h0)
        return
    e_owner = [e for e in range(e0, e1) for _ in expected[e]]
    h_owner = [h for h in range(h0, h1) for _ in heard[h]]
    e_hits = dict.fromkeys(range(e0, e1), 0)
    h_hits = dict.fromkeys(range(h0, h1), 0)
    heard_letters = "".join(heard[h0:h1])
    used = [False] * len(heard_letters)
    letters = SequenceMatcher(None, "".join(expected[e0:e1]), heard_letters, autojunk=False)
    for block in letters.get_matching_blocks():
        if block.size < MIN_LETTER_RUN:
            continue
        for step in range(block.size):
            used[block.b + step] = True
            e, h = e_owner[block.a + step], h_owner[block.b + step]
            e_hits[e] += 1
            h_hits[h] += 1
            if h not in match.expected_heard[e]:
                match.expected_heard[e].append(h)
            match.heard_follows[h] = max(match.heard_follows[h], e)
    for e, hits in e_hits.items():
        match.expected_cover[e] = hits / len(expected[e])
    for h, hits in h_hits.items():
        match.heard_cover[h] = hits / len(heard[h])
        if h > h0:  # an unmatched heard word comes after what the word before it matched
            match.heard_follows[h] = max(match.heard_follows[h], match.heard_follows[h - 1])
    for run in re.finditer(f"0{{{LEFTOVER_LETTERS},}}", "".join("1" if flag else "0" for flag in used)):
        h = h_owner[run.start()]
        inside = h_owner[run.end() - 1] == h and match.heard_cover[h] >= EXTRA_COVER
        if inside:  # a long unmatched run inside a mostly matched word ("keeper" in "housekeeper")
            match.heard_leftover[h] = heard_letters[run.start() : run.end()]
    _pair_near_misses(expected, heard, list(e_hits), list(h_hits), match, phones)
    expected_errors = 0.0
    for e in e_hits:
        cover = match.expected_cover[e]
        expected_errors += 0.0 if cover >= HEARD_SIMILARITY else 0.5 if cover >= SAME_SOUND_SIMILARITY else 1.0
    inserted = sum(1 for h in h_hits if match.heard_cover[h] < SAME_SOUND_SIMILARITY)
    match.errors += max(expected_errors, inserted)


ALTERNATE_PRONUNCIATIONS = 4  # the CMU dictionary lists other readings as "a(2)", "a(3)", ...


def _pronunciations(word: str, phones) -> list[list[str]]:
    """Every dictionary reading of a word ("a": AH and EY), so a weak form is not mistaken for another word."""
    readings = []
    for variant in [word] + [f"{word}({n})" for n in range(2, ALTERNATE_PRONUNCIATIONS + 1)]:
        found = phones(variant)
        if not found:
            break
        readings.append(found.split())
    return readings


def _sound_similarity(left: str, right: str, phones) -> float:
    if phones is None:
        return 0.0
    said, heard = _pronunciations(left, phones), _pronunciations(right, phones)
    return max(
        (SequenceMatcher(None, one, other, autojunk=False).ratio() for one in said for other in heard), default=0.0
    )


def _pair_near_misses(expected, heard, e_range: list[int], h_range: list[int], match: WordMatch, phones) -> None:
    """Unmatched words left in a gap: each expected one paired, in order, with the first later heard
    one that looks or sounds alike as a whole word (difflib's ratio of letters, which counts single
    letters: "please" / "police" 0.5; or of dictionary phones: "near" / "here" 0.67)."""
    stray = [h for h in h_range if match.heard_cover[h] < SAME_SOUND_SIMILARITY]
    for e in [e for e in e_range if match.expected_cover[e] < SAME_SOUND_SIMILARITY]:
        for position, h in enumerate(stray):
            similarity = max(word_similarity(expected[e], heard[h]), _sound_similarity(expected[e], heard[h], phones))
            if similarity >= PAIR_SIMILARITY:
                match.expected_cover[e] = max(match.expected_cover[e], similarity)
                match.heard_cover[h] = max(match.heard_cover[h], similarity)
                if h not in match.expected_heard[e]:
                    match.expected_heard[e].append(h)
                match.heard_follows[h] = max(match.heard_follows[h], e)
                stray = stray[position + 1 :]  # keep the order: later expected words pair later
                break


@dataclass
class HeardWord:
    key: str
    text: str
    start: float
    end: float
    probability: float


# A bare number: digits with separators only ("820", "8.20", "8:20", "1,250"); trailing punctuation aside.
_BARE_NUMBER = re.compile(r"\d+(?:[.:,]\d+)*")


def digits_in(token: str) -> bool:
    return any(character.isdigit() for character in token)


def bare_digits(token: str) -> str | None:
    """The digits of a bare number (no letters, currency or percent signs), else None."""
    stripped = token.strip(".,;:!?\"'()")
    return re.sub(r"\D", "", stripped) if _BARE_NUMBER.fullmatch(stripped) else None


def text_numbers(tokens: Sequence[str], keys_of: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """The text's bare numbers by their digits, each with the keys the text spells it as ("8:20": eight
    twenty); digits two of its numbers share with different spellings ("820" and "8:20") are left out.

    A recogniser writes a bare number its own way ("820" or "8.20" for "8:20"); when its digits are one
    of the text's numbers, the difference is one of writing, not of speech. Numbers with letters or
    signs ("2nd", "B2", "$5", "50%") keep the usual spelling: their words ("dollars") may be heard apart.
    """
    numbers: dict[str, list[str]] = {}
    ambiguous: set[str] = set()
    for token, keys in zip(tokens, keys_of, strict=True):
        digits = bare_digits(token)
        if digits is None:
            continue
        if digits in numbers and numbers[digits] != list(keys):
            ambiguous.add(digits)
        numbers[digits] = list(keys)
    return {digits: keys for digits, keys in numbers.items() if digits not in ambiguous}


def heard_keys(words: Sequence[Word], english: bool, numbers: dict[str, list[str]] | None = None) -> list[HeardWord]:
    """Recognised words as comparison keys, spelled out like the text ("2014" -> two keys); a number
    whose digits are one of the text's ``numbers`` is spelled as the text spells that number."""
    heard = []
    for word in words:
        digits = bare_digits(word.word)
        same_number = (numbers or {}).get(digits) if digits else None
        spoken = " ".join(same_number) if same_number else normalize_english(word.word) if english else word.word
        probability = 1.0 if word.confidence is None else float(word.confidence)
        for piece in spoken.split():
            key = normalize_token(piece)
            if key:
                heard.append(HeardWord(key, word.word, float(word.start), float(word.end), probability))
    return heard
