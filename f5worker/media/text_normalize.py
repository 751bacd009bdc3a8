"""English text normalisation before synthesis: numbers, money, times and abbreviations as words.

F5-TTS learned from transcripts where numbers are mostly spelt out, so it reads digits badly
(skipping them or mumbling). Everything here turns written forms into the words a reader would say,
while keeping sentence punctuation so chunking and prosody still work.

Cardinals and ordinals come from num2words, in American style ("one hundred twenty-three": its
British "and" and grouping commas are dropped, since a comma would read as a pause); years, clock
times, money and abbreviations follow the rules below.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

from .punctuation import TITLES

# --------------------------------------------------------------------------- number spelling

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Past this many digits nobody says the number as one quantity: read it digit by digit. This also
# keeps int() away from digit runs past Python's 4,300-digit conversion limit.
_MAX_CARDINAL_DIGITS = 15


def _american(words: str) -> str:
    return words.replace(",", "").replace(" and ", " ")


def cardinal(n: int) -> str:
    """123 -> 'one hundred twenty-three'; very long numbers are read digit by digit."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= 10**_MAX_CARDINAL_DIGITS:
        return digits(str(n))
    return _american(num2words(n, lang="en"))


def integer_words(text: str) -> str:
    """A run of digits as a quantity, without converting runs too long to be one (or to be an int)."""
    text = text.lstrip("0") or "0"
    if len(text) > _MAX_CARDINAL_DIGITS:
        return digits(text)
    return cardinal(int(text))


def digits(text: str, zero: str = "zero") -> str:
    """'0123' -> 'zero one two three': codes and phone numbers are read this way."""
    return " ".join(zero if ch == "0" else _ONES[int(ch)] for ch in text)


def ordinal(n: int) -> str:
    """22 -> 'twenty-second'."""
    if n >= 10**_MAX_CARDINAL_DIGITS:
        return digits(str(n)) + "th"
    return _american(num2words(n, lang="en", to="ordinal"))


def plural(words: str) -> str:
    """'nineteen ninety' -> 'nineteen nineties', for decades like 1990s."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def year(n: int) -> str:
    """Years as spoken: 1999 'nineteen ninety-nine', 2014 'twenty fourteen', 2009 'two thousand nine'."""
    if not 1100 <= n <= 2099 or 2000 <= n <= 2009:
        return cardinal(n)
    century, rest = divmod(n, 100)
    if rest == 0:
        return f"{cardinal(century)} hundred"
    if rest < 10:
        return f"{cardinal(century)} oh {_ONES[rest]}"
    return f"{cardinal(century)} {cardinal(rest)}"


def decimal(integer: str, fraction: str) -> str:
    """'3', '14' -> 'three point one four' (the integer part may be empty for '.5')."""
    head = integer_words(integer) if integer else ""
    return f"{head} point {digits(fraction)}".strip()


# --------------------------------------------------------------------------- patterns

# An unsigned number: 1,234,567 (only with proper three-digit groups) or 1234, optionally with a decimal part.
_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_MAGNITUDES = {
    "k": "thousand",
    "thousand": "thousand",
    "m": "million",
    "mn": "million",
    "million": "million",
    "b": "billion",
    "bn": "billion",
    "billion": "billion",
    "tn": "trillion",
    "trillion": "trillion",
}
_MAGNITUDE = r"(?i:\s?(?:thousand|million|billion|trillion)|(?:k|m|mn|b|bn|tn))(?![A-Za-z0-9])"

# symbol: (one major, many major, one minor, many minor); yen has no minor unit in use.
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", None, None),
}


def _number_words(text: str) -> str:
    """A matched _NUM as a quantity: separators dropped, decimals read digit by digit."""
    integer, _, fraction = text.replace(",", "").partition(".")
    if fraction:
        return decimal(integer, fraction)
    return integer_words(integer)


def _amount_is_one(text: str) -> bool:
    return text.replace(",", "") in ("1", "01")


def _money(number: str, magnitude: str | None, symbol: str) -> str:
    """'13.60', None, '£' -> 'thirteen pounds sixty'; '1.5', 'm', '€' -> 'one point five million euros'."""
    one, many, minor_one, minor_many = _CURRENCIES[symbol]
    if magnitude:
        scale = _MAGNITUDES[magnitude.strip().lower()]
        return f"{_number_words(number)} {scale} {many}"
    integer, _, fraction = number.replace(",", "").partition(".")
    if fraction and (len(fraction) != 2 or minor_one is None):
        return f"{decimal(integer, fraction)} {many}"
    major = integer.lstrip("0") or "0"
    minor = int(fraction or "0")
    if major == "0" and minor:
        return f"{cardinal(minor)} {minor_one if minor == 1 else minor_many}"
    words = f"{integer_words(major)} {one if major == '1' else many}"
    return f"{words} {cardinal(minor)}" if minor else words


def _money_prefix(match: re.Match) -> str:
    return _money(match["num"], match["mag"], match["sym"])


def _percent(match: re.Match) -> str:
    sign = "minus " if match["sign"] else ""
    return f"{sign}{_number_words(match['num'])} percent"


def _degrees(match: re.Match) -> str:
    sign = "minus " if match["sign"] else ""
    unit = {"C": " Celsius", "F": " Fahrenheit"}.get((match["unit"] or "").upper(), "")
    word = "degree" if _amount_is_one(match["num"]) and not sign else "degrees"
    return f"{sign}{_number_words(match['num'])} {word}{unit}"


def _clock(hours: int, minutes: int, suffix: str | None) -> str:
    """3:05 'three oh five', 3:30pm 'three thirty p.m.', 10:00 'ten o'clock'."""
    if minutes == 0:
        spoken = cardinal(hours) + ("" if suffix else " o'clock")
    elif minutes < 10:
        spoken = f"{cardinal(hours)} oh {_ONES[minutes]}"
    else:
        spoken = f"{cardinal(hours)} {cardinal(minutes)}"
    return f"{spoken} {suffix[0].lower()}.m." if suffix else spoken


def _time(match: re.Match) -> str:
    hours, minutes = int(match["h"]), int(match["m"])
    if hours > 24 or minutes > 59:
        return match[0]  # not a clock time (a ratio or score); the generic pass reads the numbers
    return _clock(hours, minutes, match["ampm"])


def _hour_ampm(match: re.Match) -> str:
    hours = int(match["h"])
    if not 1 <= hours <= 12:
        return match[0]
    return _clock(hours, 0, match["ampm"])


def _ordinal(match: re.Match) -> str:
    number = match["num"].replace(",", "").lstrip("0") or "0"
    return ordinal(int(number)) if len(number) <= _MAX_CARDINAL_DIGITS else digits(number) + "th"


def _decade(match: re.Match) -> str:
    number = match["num"]
    if len(number) == 2:  # '80s: the decade of the century
        return plural(cardinal(int(number)))
    return plural(year(int(number)))


def _spaced(match: re.Match, words: str) -> str:
    """Keep spelt numbers apart from letters they touched: 'mp3' -> 'mp three', '3D' -> 'three D'."""
    text = match.string
    before = " " if match.start() > 0 and text[match.start() - 1].isalpha() else ""
    after = " " if match.end() < len(text) and text[match.end()].isalpha() else ""
    return before + words + after


def _bare_number(match: re.Match) -> str:
    """Any number left: a year when it looks like one, else a quantity, else digit by digit."""
    text = match["num"]
    sign = "minus " if match["sign"] else ""
    if text.count(".") > 1:  # a version or an address: 1.2.3 -> 'one point two point three'
        return sign + " point ".join(_number_words(part) for part in text.split("."))
    if text.isdigit() and len(text) > 1 and text.startswith("0"):  # a code or phone number: 007
        return sign + digits(text)
    if text.isdigit() and len(text) == 4 and not sign:
        return year(int(text))
    return sign + _number_words(text)


# --------------------------------------------------------------------------- abbreviations


def _keep_period(match: re.Match) -> str:
    """'.' when the abbreviation's period also ended the sentence (end of text or a capital next)."""
    rest = match.string[match.end() :].lstrip(" \t")
    return "." if not rest or rest[0].isupper() or rest[0] in "\r\n" else ""


def _titled(expansion: str) -> Callable[[re.Match], str]:
    """A title before a name (Dr., Mr.): its period never ends the sentence."""
    return lambda match: expansion


def _final(expansion: str) -> Callable[[re.Match], str]:
    """An abbreviation that can end a sentence (etc., Jr.): keep the period when it did."""
    return lambda match: expansion + _keep_period(match)


def _follows_name(match: re.Match) -> bool:
    """Whether the word before is a name or a house number ('on Main St.', '12 Elm Dr.').

    A capitalised word that only starts a sentence ('Then St. Louis') is no evidence of a name.
    """
    words = match.string[: match.start()].split()
    if not words or words[-1][-1] in ".!?,;:":
        return False
    previous = words[-1]
    if previous[0].isdigit():
        return True
    starts_sentence = len(words) == 1 or words[-2][-1] in ".!?"
    return previous[0].isupper() and not starts_sentence


def _saint_or_street(match: re.Match) -> str:
    """'St. Louis' is a saint; 'Main St.' (after a name or a number) is a street."""
    if _follows_name(match):
        return "Street" + _keep_period(match)
    return TITLES["St."]


def _doctor_or_drive(match: re.Match) -> str:
    """'Dr. Smith' is a doctor; 'Elm Dr.' with no name after it is a drive."""
    rest = match.string[match.end() :].lstrip(" \t")
    if _follows_name(match) and not rest[:1].isupper():
        return "Drive" + _keep_period(match)
    return TITLES["Dr."]


# Abbreviations that may end a sentence (their period stays when it did), as regular expressions.
_FINALS = {
    r"Jr\.": "Junior",
    r"Sr\.": "Senior",
    r"Ave\.": "Avenue",
    r"Rd\.": "Road",
    r"Blvd\.": "Boulevard",
    r"[Ee]tc\.": "et cetera",
    r"[Ee]\.g\.": "for example",
    r"[Ii]\.e\.": "that is",
    r"[Vv]s\.?": "versus",
    r"[Aa]pprox\.": "approximately",
}
# Titles that can also be part of an address.
_TITLE_OR_PLACE = {"Dr.": _doctor_or_drive, "St.": _saint_or_street}

_ABBREVIATIONS: list[tuple[str, Callable[[re.Match], str]]] = [
    *((re.escape(title), _TITLE_OR_PLACE.get(title) or _titled(spoken)) for title, spoken in TITLES.items()),
    *((pattern, _final(spoken)) for pattern, spoken in _FINALS.items()),
    (r"[Nn]o\.(?=\s?[0-9])", _titled("number")),
]
_ABBREVIATION_RE = [(re.compile(rf"(?<![\w.]){pattern}(?![\w])"), replace) for pattern, replace in _ABBREVIATIONS]


def _expand_abbreviations(text: str) -> str:
    for pattern, replace in _ABBREVIATION_RE:
        text = pattern.sub(replace, text)
    return text


# --------------------------------------------------------------------------- the pipeline

_SIGN = r"(?P<sign>(?<![\w.,])[-−])?"
_STEPS: list[tuple[re.Pattern, Callable[[re.Match], str] | str]] = [
    # clock times first, so 3:30 is not read as two numbers
    (
        re.compile(
            r"(?<![0-9:])(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?![0-9]|:[0-9])"
            r"(?:\s?(?P<ampm>[AaPp])\.?[Mm](?:\.(?=\s|$)|\b))?"
        ),
        _time,
    ),
    (re.compile(r"(?<![0-9.,])(?P<h>[0-9]{1,2})\s?(?P<ampm>[AaPp])\.?[Mm](?:\.(?=\s|$)|\b)"), _hour_ampm),
    # money before anything that would read the digits alone
    (re.compile(rf"(?P<sym>[$£€¥])\s?(?P<num>{_NUM})(?P<mag>{_MAGNITUDE})?"), _money_prefix),
    (re.compile(rf"(?<![0-9.,])(?P<num>{_NUM})(?P<mag>{_MAGNITUDE})?\s?(?P<sym>[$£€¥])"), _money_prefix),
    # (?<![0-9]): a number starts after a non-digit, so a long digit run is not retried at every digit
    (re.compile(rf"{_SIGN}(?<![0-9])(?P<num>{_NUM})\s?%"), _percent),
    (re.compile(rf"{_SIGN}(?<![0-9])(?P<num>{_NUM})\s?°\s?(?P<unit>[CFcf](?![A-Za-z]))?"), _degrees),
    (
        re.compile(r"(?<![0-9.,])(?P<num>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:st|nd|rd|th|ST|ND|RD|TH)(?![A-Za-z])"),
        _ordinal,
    ),
    (re.compile(r"(?<![0-9.,])'?(?P<num>[0-9]{2}|1[1-9][0-9]{2}|20[0-9]{2})s(?![A-Za-z])"), _decade),
    # ranges written with an en dash: 1990–1995, 10–20
    (re.compile(r"(?<=[0-9])\s?–\s?(?=[0-9])"), " to "),
    (re.compile(r"#(?=[0-9])"), "number "),
    (re.compile(r"(?<=\s)&(?=\s)"), "and"),
    (re.compile(rf"{_SIGN}(?P<num>{_NUM}(?:\.[0-9]+)*|\.[0-9]+)"), _bare_number),
]


def normalize_english(text: str) -> str:
    """Spell out numbers, money, percentages, times and common abbreviations, keeping punctuation."""
    text = _expand_abbreviations(text)
    for pattern, replace in _STEPS:
        if callable(replace):
            text = pattern.sub(lambda match, spell=replace: _spaced(match, spell(match)), text)
        else:
            text = pattern.sub(replace, text)
    text = _expand_abbreviations(text)  # again: spelling '0Dr.' freed an abbreviation glued to a number
    return re.sub(r"[ \t]{2,}", " ", text)
