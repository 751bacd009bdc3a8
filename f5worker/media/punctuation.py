"""Where written English ends a sentence or a clause, for every module that splits text.

Chunking (where F5-TTS may pause between chunks), caption grouping (where a caption or line may
break) and known-text segments (where a sentence segment ends) all ask the same two questions of a
whitespace-separated word: does it end a sentence, does it end a clause.
"""

from __future__ import annotations

SENTENCE_END_CHARS = ".!?…"
CLAUSE_END_CHARS = ",;:—–"
# Closing quotes and brackets may follow the punctuation that really ends the sentence or clause.
CLOSING_CHARS = "\"'”’»)]}›"
# Opening quotes and brackets may come before a word.
OPENING_CHARS = "\"'“‘«([{‹¿¡"
# ASCII stand-ins for a dash, written as a word of their own ("wait - what").
STANDALONE_DASHES = ("-", "--")

# Titles written before a name ("Dr. Smith"): their period never ends a sentence. With the words
# they stand for, which text normalisation speaks.
TITLES = {
    "Mrs.": "Missus",
    "Mr.": "Mister",
    "Ms.": "Miz",
    "Dr.": "Doctor",
    "Prof.": "Professor",
    "Capt.": "Captain",
    "Gen.": "General",
    "Sgt.": "Sergeant",
    "Lt.": "Lieutenant",
    "Mt.": "Mount",
    "Ft.": "Fort",
    "St.": "Saint",
}
# Other abbreviations that sit inside a sentence far more often than they end one. Not "etc.",
# which usually ends one, nor "No." ("No. 5"), which a word alone cannot tell from the answer "no.".
INNER_ABBREVIATIONS = frozenset({"jr.", "sr.", "vs.", "e.g.", "i.e."})
_TITLE_KEYS = frozenset(title.lower() for title in TITLES)
PERIOD_NOT_FINAL = _TITLE_KEYS | INNER_ABBREVIATIONS


def strip_closing(word: str) -> str:
    """The word without trailing quotes or brackets: 'end."' and 'end.)' end like 'end.'."""
    return word.rstrip(CLOSING_CHARS)


def _abbreviation_key(word: str) -> str:
    return strip_closing(word).lstrip(OPENING_CHARS).lower()


def is_title(word: str) -> bool:
    """A title before a name ('Dr.', 'Mrs.'): it belongs with the name after it."""
    return _abbreviation_key(word) in _TITLE_KEYS


def is_abbreviation(word: str) -> bool:
    """A title or inner abbreviation ('Dr.', '(e.g.'), whose period does not end the sentence."""
    return _abbreviation_key(word) in PERIOD_NOT_FINAL


def ends_sentence(word: str) -> bool:
    """True after . ! ? … (possibly followed by closing quotes or brackets), except after a title."""
    core = strip_closing(word)
    return bool(core) and core[-1] in SENTENCE_END_CHARS and not is_abbreviation(word)


def ends_clause(word: str) -> bool:
    """True after , ; : or a dash (also a lone '-' or '--'), the second-best places to break."""
    core = strip_closing(word)
    return word in STANDALONE_DASHES or (bool(core) and core[-1] in CLAUSE_END_CHARS)
