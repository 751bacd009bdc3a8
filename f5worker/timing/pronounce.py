"""Pronunciations (CMU/ARPAbet phones) for the words a forced aligner must find in the audio.

pocketsphinx ships the CMU dictionary (134k words) but no letter-to-sound rules, so a name it has
never seen ("Tanaka", "Nguyen") would make the grammar unusable. Such words are spoken through
``espeak-ng --ipa`` (the same program the tests speak with, installed in the image) and its IPA
is mapped onto the 39 ARPAbet phones of the acoustic model; when espeak-ng is missing or says
nothing usable, the word is spelled letter by letter, which is what a TTS does with an acronym.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

ESPEAK_TIMEOUT_S = 10
# IPA (as espeak-ng writes it for en-us) to ARPAbet; longest symbols are tried first.
IPA_TO_ARPABET = {
    "aɪə": "AY ER",
    "aɪ": "AY",
    "aʊ": "AW",
    "eɪ": "EY",
    "oʊ": "OW",
    "əʊ": "OW",
    "ɔɪ": "OY",
    "tʃ": "CH",
    "dʒ": "JH",
    "ɑː": "AA",
    "ɑ": "AA",
    "ɒ": "AA",
    "ɔː": "AO",
    "ɔ": "AO",
    "æ": "AE",
    "a": "AE",
    "ʌ": "AH",
    "ə": "AH",
    "ɐ": "AH",
    "ɚ": "ER",
    "ɜː": "ER",
    "ɜ": "ER",
    "ɝ": "ER",
    "ɛ": "EH",
    "e": "EH",
    "ɪ": "IH",
    "ᵻ": "IH",
    "iː": "IY",
    "i": "IY",
    "ʊ": "UH",
    "uː": "UW",
    "u": "UW",
    "o": "OW",
    "b": "B",
    "d": "D",
    "ð": "DH",
    "f": "F",
    "ɡ": "G",
    "g": "G",
    "h": "HH",
    "j": "Y",
    "k": "K",
    "x": "K",
    "l": "L",
    "ɫ": "L",
    "m": "M",
    "n": "N",
    "ŋ": "NG",
    "p": "P",
    "ɹ": "R",
    "r": "R",
    "ɾ": "T",
    "s": "S",
    "ʃ": "SH",
    "t": "T",
    "θ": "TH",
    "v": "V",
    "w": "W",
    "z": "Z",
    "ʒ": "ZH",
    "ʔ": "",
}
_IPA_SYMBOLS = sorted(IPA_TO_ARPABET, key=len, reverse=True)
# Stress, length, syllable and tie marks carry no phone of their own.
_IPA_IGNORED = set("ˈˌːˑ.‿͡ ̩̯ʲ-")
# Letter names, for spelling a word nothing else can pronounce.
LETTER_NAMES = {
    "a": "EY",
    "b": "B IY",
    "c": "S IY",
    "d": "D IY",
    "e": "IY",
    "f": "EH F",
    "g": "JH IY",
    "h": "EY CH",
    "i": "AY",
    "j": "JH EY",
    "k": "K EY",
    "l": "EH L",
    "m": "EH M",
    "n": "EH N",
    "o": "OW",
    "p": "P IY",
    "q": "K Y UW",
    "r": "AA R",
    "s": "EH S",
    "t": "T IY",
    "u": "Y UW",
    "v": "V IY",
    "w": "D AH B AH L Y UW",
    "x": "EH K S",
    "y": "W AY",
    "z": "Z IY",
    "0": "Z IH R OW",
    "1": "W AH N",
    "2": "T UW",
    "3": "TH R IY",
    "4": "F AO R",
    "5": "F AY V",
    "6": "S IH K S",
    "7": "S EH V AH N",
    "8": "EY T",
    "9": "N AY N",
}
_SPLIT = re.compile(r"[-‐‑–—/_]+")
_EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}<>.,;:!?…*"


def dictionary_words(token: str) -> list[str]:
    """The lower-case words a spoken token is made of: 'twenty-three,' -> ['twenty', 'three'].

    Apostrophes inside a word stay ("don't", "o'clock"), dots inside stay ("p.m."): the CMU
    dictionary spells them that way. A token with nothing speakable gives no words.
    """
    folded = unicodedata.normalize("NFKC", token).casefold().replace("’", "'")
    words = []
    for part in _SPLIT.split(folded):
        part = part.strip(_EDGE_PUNCTUATION)
        if any(unicodedata.category(ch)[0] in "LN" for ch in part):
            words.append(part)
    return words


def ipa_to_arpabet(ipa: str) -> list[str]:
    """ARPAbet phones for one word of espeak-ng IPA; unknown symbols are skipped (logged once per call)."""
    ipa = re.sub(r"\([^)]*\)", "", ipa)  # espeak-ng's language-switch marks, e.g. "(fr)"
    phones: list[str] = []
    position = 0
    skipped = []
    while position < len(ipa):
        if ipa[position] in _IPA_IGNORED or unicodedata.category(ipa[position]) == "Mn":
            position += 1
            continue
        for symbol in _IPA_SYMBOLS:
            if ipa.startswith(symbol, position):
                phones.extend(IPA_TO_ARPABET[symbol].split())
                position += len(symbol)
                break
        else:
            skipped.append(ipa[position])
            position += 1
    if skipped:
        log.debug("no ARPAbet phone for IPA %r in %r", "".join(skipped), ipa)
    return phones


def spelled(word: str) -> list[str]:
    """Letter by letter ('NGO' -> EH N JH IY OW); letters outside a-z/0-9 are dropped after folding accents."""
    plain = unicodedata.normalize("NFKD", word.casefold())
    return [phone for ch in plain if ch in LETTER_NAMES for phone in LETTER_NAMES[ch].split()]


def espeak_ipa(words: list[str], voice: str = "en-us") -> dict[str, str]:
    """IPA for each word from one ``espeak-ng`` call (one word a line); {} when espeak-ng is not there."""
    program = shutil.which("espeak-ng")
    if not program or not words:
        return {}
    try:
        result = subprocess.run(
            [program, "-q", "--ipa", "-v", voice],
            input="\n".join(words) + "\n",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=ESPEAK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("espeak-ng could not pronounce %d words: %s", len(words), exc)
        return {}
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or len(lines) != len(words):
        if len(words) > 1:  # espeak joined or split some lines: ask word by word
            merged: dict[str, str] = {}
            for word in words:
                merged.update(espeak_ipa([word], voice))
            return merged
        return {}
    return dict(zip(words, lines, strict=True))


class Pronouncer:
    """ARPAbet phones for dictionary words, with espeak-ng and spelling for the rest; results are cached."""

    def __init__(self, lookup: Callable[[str], str | None], ipa: Callable[[list[str]], dict[str, str]] = espeak_ipa):
        self.lookup = lookup
        self.ipa = ipa
        self.cache: dict[str, tuple[str, str]] = {}  # word -> (phones, source)

    def pronounce(self, words: Iterable[str]) -> dict[str, tuple[str, str]]:
        """{word: (phones, source)} with source 'dictionary', 'espeak' or 'spelled'; unpronounceable words absent."""
        wanted = list(dict.fromkeys(words))
        missing = [word for word in wanted if word not in self.cache]
        unknown = []
        for word in missing:
            phones = self.lookup(word) or (self.lookup(word.replace(".", "")) if "." in word else None)
            if phones:
                self.cache[word] = (phones, "dictionary")
            else:
                unknown.append(word)
        spoken = self.ipa(unknown) if unknown else {}
        for word in unknown:
            phones = ipa_to_arpabet(spoken.get(word, "")) or spelled(word)
            if phones:
                self.cache[word] = (" ".join(phones), "espeak" if word in spoken else "spelled")
        return {word: self.cache[word] for word in wanted if word in self.cache}
