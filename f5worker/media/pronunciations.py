"""Pronunciations: a typed word read as a respelling (``GIF`` as ``jif``), in the spoken text only.

F5-TTS reads characters, so a name or brand it says wrongly is fixed by spelling it the way it is
said. Only the text the model speaks and the aligner finds changes; captions keep the typed word,
timed over the span of its respelling (the timing code asks :meth:`Lexicon.say` how each typed
token is spoken, as it asks ``normalize_english`` for numbers).

Matching rules, checked in this order at each place in the text:

- whole words only: an entry never matches inside a longer word (``SQL`` is not found in
  ``MySQL``); an apostrophe or hyphen ends a word, so ``GIF's`` and ``GIF-based`` match ``GIF``,
  while ``don't`` does not match ``don`` (only a possessive ``'s`` may follow);
- the longest entry that matches wins (``Node.js`` before ``Node``);
- an entry matches its exact case first; an entry written all in lower case (``sql``) also matches
  any other case (``SQL``, ``Sql``) unless an entry for that exact case exists.

Entries are single words (no spaces; the respelling may have several); the respelling replaces the
whole match. Pronunciations are applied before numbers are spelt out, so an entry can also say how
a typed number is read (``"911": "nine one one"``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

MAX_ENTRIES = 1000  # per job and per stored lexicon: one compiled pattern, matched once per text
MAX_WORD_CHARS = 64
MAX_RESPELLING_CHARS = 128
# A word character, or an apostrophe inside a word (not a possessive 's, which may follow an entry).
_AFTER = r"(?!\w|['’](?!s\b)\w)"
_BEFORE = r"(?<!\w)(?<!\w['’])"


def _speakable(text: str) -> bool:
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def entry_problem(word: str, respelling: object) -> str | None:
    """Why one entry cannot be used (a message that names the word), or None when it can."""
    shown = repr(word[:40] + ("..." if len(word) > 40 else ""))
    if not 1 <= len(word) <= MAX_WORD_CHARS:
        return f"entry {shown}: a word has 1 to {MAX_WORD_CHARS} characters"
    if any(char.isspace() for char in word):
        return f"entry {shown}: one word per entry (no spaces); the respelling may have several"
    if "[" in word or "]" in word or not _speakable(word):
        return f"entry {shown}: the word needs a letter or digit and no '[' or ']'"
    if not isinstance(respelling, str):
        return f"entry {shown}: the respelling must be a string"
    if not 1 <= len(respelling) <= MAX_RESPELLING_CHARS:
        return f"entry {shown}: the respelling has 1 to {MAX_RESPELLING_CHARS} characters"
    if "[" in respelling or "]" in respelling or any(unicodedata.category(char) == "Cc" for char in respelling):
        return f"entry {shown}: the respelling may not hold '[', ']' or control characters"
    if not any(unicodedata.category(char)[0] == "L" for char in respelling):
        return f"entry {shown}: the respelling needs letters (it is read aloud)"
    return None


def lexicon_problem(entries: object) -> str | None:
    """Why a whole set of entries cannot be used, or None (the first problem found)."""
    if not isinstance(entries, Mapping):
        return "expected an object of word: respelling"
    if len(entries) > MAX_ENTRIES:
        return f"{len(entries)} entries, over the limit of {MAX_ENTRIES}"
    for word, respelling in entries.items():
        problem = entry_problem(word, respelling) if isinstance(word, str) else "entry keys must be strings"
        if problem:
            return problem
    return None


def _bounded(word: str) -> str:
    """The word as a pattern that matches it only as a whole word."""
    before = _BEFORE if re.match(r"\w", word) else ""
    after = _AFTER if re.match(r".*\w$", word, re.S) else ""
    return before + re.escape(word) + after


class Lexicon:
    """A set of pronunciations, checked once and compiled into one pattern."""

    def __init__(self, entries: Mapping[str, str] | None = None):
        self.entries = {word: " ".join(respelling.split()) for word, respelling in (entries or {}).items()}
        self._folded = {word: respelling for word, respelling in self.entries.items() if word == word.lower()}
        # Longest first; at equal length an exact-case entry before a lower-case one matching any case.
        ordered = sorted(
            [(word, word in self._folded) for word in self.entries],
            key=lambda item: (-len(item[0]), item[1]),
        )
        alternatives = [f"(?i:{_bounded(word)})" if folded else _bounded(word) for word, folded in ordered]
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    def __bool__(self) -> bool:
        return bool(self.entries)

    def over(self, base: Lexicon | None) -> Lexicon:
        """This lexicon's entries winning over ``base``'s (a job's entries over a stored lexicon's)."""
        if base is None or not base:
            return self
        return Lexicon({**base.entries, **self.entries})

    def _respelling(self, match: re.Match) -> str:
        typed = match.group(0)
        return self.entries.get(typed) or self._folded[typed.lower()]

    def say(self, text: str) -> str:
        """``text`` with every listed word replaced by its respelling (the spoken text, before numbers)."""
        if self._pattern is None:
            return text
        return self._pattern.sub(self._respelling, text)

    def used(self, text: str) -> list[str]:
        """The entries that apply to ``text``, in order of first use (reported in a job's params)."""
        if self._pattern is None:
            return []
        return list(dict.fromkeys(self._find(match.group(0)) for match in self._pattern.finditer(text)))

    def _find(self, typed: str) -> str:
        return typed if typed in self.entries else typed.lower()
