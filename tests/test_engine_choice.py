"""The timing facade's choices: which engine runs, what happens when one fails, how known text is routed.

The engines here are small fakes with the engines' interface (``name``, ``transcribe`` and, for the
whisperx kind, ``aligner``/``can_align``/``align_text``/``detect_language``): this module tests the
choosing logic only. The real engines are exercised in test_whisper_engine.py and test_google_speech.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from f5worker.engines import Engines
from f5worker.errors import EngineUnavailable
from f5worker.timing.engine_choice import TIMING_ENGINES, recognisers_for, run_timing, transcribe_known_text
from f5worker.timing.sphinx import TokenTimes
from f5worker.timing.transcript import EngineFailure, Segment, Transcript
from f5worker.words import Word

AUDIO = np.zeros(16000 * 3, dtype=np.float32)  # 3 s
HEARD = [Word(word="hello", start=0.5, end=0.9, confidence=0.9), Word(word="world", start=1.0, end=1.6, confidence=0.8)]


class FakeRecogniser:
    """A Google-like engine: transcribes, cannot align, has no language detection."""

    def __init__(self, name: str, words=HEARD, fail: Exception | None = None, language: str = "en"):
        self.name = name
        self.words = list(words)
        self.fail = fail
        self.language = language
        self.calls: list[tuple] = []

    def transcribe(self, audio, language):
        self.calls.append(("transcribe", language))
        if self.fail:
            raise self.fail
        text = " ".join(w.word for w in self.words)
        segments = [Segment(self.words[0].start, self.words[-1].end, text, list(self.words))] if self.words else []
        return Transcript(
            text=text,
            language=language or self.language,
            segments=segments,
            engine=self.name,
            method=f"{self.name}-words",
        )


class FakeAligner:
    def __init__(self, languages=("en",)):
        self.languages = set(languages)


class FakeWhisper(FakeRecogniser):
    """A whisperx-like engine: may carry an aligner for some languages, and detects the language."""

    model_name = "fake-whisper"

    def __init__(self, *args, aligner: FakeAligner | None = None, detected: str = "en", align_fail=None, **kwargs):
        super().__init__("whisperx", *args, **kwargs)
        self.aligner = aligner
        self.detected = detected
        self.align_fail = align_fail

    def detect_language(self, audio):
        self.calls.append(("detect_language",))
        return self.detected

    def transcribe(self, audio, language, realign=True):
        transcript = super().transcribe(audio, language)
        transcript.timing = "whisper"
        return self.realign(transcript, audio) if realign else transcript

    def realign(self, transcript, audio):
        if not self.can_align(transcript.language):
            return transcript
        self.calls.append(("realign", transcript.language))
        transcript.method, transcript.timing = "wav2vec2-alignment", "whisperx"
        return transcript

    def can_align(self, language):
        return self.aligner is not None and language in self.aligner.languages

    def align_text(self, audio, text, language):
        self.calls.append(("align_text", text, language))
        if self.align_fail:
            raise self.align_fail
        # whisperx's shape: dicts, numpy-ish floats, a word it could not place lacks start/end
        words = text.split()
        aligned = [{"word": w, "start": 0.2 * i, "end": 0.2 * i + 0.15, "score": 0.5} for i, w in enumerate(words)]
        aligned[-1] = {"word": words[-1]}
        return aligned


def engines_of(*engines, errors: dict[str, str] | None = None) -> Engines:
    return Engines(loaded={engine.name: engine for engine in engines}, errors=dict(errors or {}))


def names_called(engine) -> list[str]:
    return [call[0] for call in engine.calls]


# --------------------------------------------------------------------------- choosing an engine


def test_auto_tries_whisperx_before_google():
    assert TIMING_ENGINES == ("whisperx", "google")
    whisper, google = FakeWhisper(), FakeRecogniser("google")
    transcript = run_timing(engines_of(google, whisper), AUDIO, choice="auto", language="en", known_text=None)
    assert transcript.engine == "whisperx"
    assert google.calls == []


def test_auto_falls_back_to_google_on_an_engine_failure():
    whisper = FakeWhisper(fail=EngineFailure("whisper transcription failed: boom"))
    google = FakeRecogniser("google")
    transcript = run_timing(engines_of(whisper, google), AUDIO, choice="auto", language="fr", known_text=None)
    assert transcript.engine == "google" and transcript.language == "fr"
    assert whisper.calls == [("transcribe", "fr")] and google.calls == [("transcribe", "fr")]


def test_auto_skips_an_engine_that_did_not_load():
    google = FakeRecogniser("google")
    engines = engines_of(google, errors={"whisperx": "RuntimeError: no model"})
    assert run_timing(engines, AUDIO, choice="auto", language=None, known_text=None).engine == "google"


@pytest.mark.parametrize("choice", ["whisperx", "google"])
def test_a_named_engine_runs_alone(choice):
    whisper, google = FakeWhisper(), FakeRecogniser("google")
    transcript = run_timing(engines_of(whisper, google), AUDIO, choice=choice, language="en", known_text=None)
    assert transcript.engine == choice
    other = google if choice == "whisperx" else whisper
    assert other.calls == []


@pytest.mark.parametrize("choice", ["whisperx", "google"])
def test_a_named_engine_that_fails_does_not_fall_back(choice):
    whisper, google = FakeWhisper(), FakeRecogniser("google")
    failing, other = (whisper, google) if choice == "whisperx" else (google, whisper)
    failing.fail = EngineFailure("boom")
    with pytest.raises(EngineUnavailable) as raised:
        run_timing(engines_of(whisper, google), AUDIO, choice=choice, language="en", known_text=None)
    assert str(raised.value) == f"no timing engine could run ({choice}: boom)"
    assert other.calls == []


def test_a_named_engine_that_is_not_loaded_reports_why():
    engines = engines_of(FakeWhisper(), errors={"google": "not configured (set GOOGLE_CREDENTIALS_JSON)"})
    with pytest.raises(EngineUnavailable) as raised:
        run_timing(engines, AUDIO, choice="google", language="en", known_text=None)
    assert str(raised.value) == "no timing engine could run (google: not configured (set GOOGLE_CREDENTIALS_JSON))"


def test_unavailable_message_lists_every_reason_in_order():
    google = FakeRecogniser("google", fail=EngineFailure("credentials were rejected (PermissionDenied)"))
    engines = engines_of(google, errors={"whisperx": "ImportError: no faster_whisper"})
    with pytest.raises(EngineUnavailable) as raised:
        run_timing(engines, AUDIO, choice="auto", language="en", known_text=None)
    assert raised.value.message == (
        "no timing engine could run (whisperx: ImportError: no faster_whisper; "
        "google: credentials were rejected (PermissionDenied))"
    )
    assert raised.value.as_output() == {"error": "engine_unavailable: " + raised.value.message}


def test_an_engine_neither_loaded_nor_failed_is_not_loaded():
    with pytest.raises(EngineUnavailable, match=r"^no timing engine could run \(whisperx: not loaded; google: not "):
        run_timing(Engines(), AUDIO, choice="auto", language="en", known_text=None)


def test_an_unknown_choice_runs_nothing():
    whisper = FakeWhisper()
    with pytest.raises(EngineUnavailable, match=r"\(azure: not loaded\)"):
        run_timing(engines_of(whisper), AUDIO, choice="azure", language="en", known_text=None)
    assert whisper.calls == []


def test_errors_other_than_engine_failure_are_not_swallowed():
    """A bug in an engine surfaces as itself (an internal error), not as a quiet fallback."""
    whisper, google = FakeWhisper(fail=KeyError("bug")), FakeRecogniser("google")
    with pytest.raises(KeyError):
        run_timing(engines_of(whisper, google), AUDIO, choice="auto", language="en", known_text=None)
    assert google.calls == []


def test_plain_transcription_reports_its_time():
    transcript = run_timing(engines_of(FakeWhisper()), AUDIO, choice="whisperx", language="en", known_text=None)
    assert set(transcript.timings_ms) == {"transcribe"} and transcript.timings_ms["transcribe"] >= 0
    assert transcript.known_text is None


# --------------------------------------------------------------------------- known text


def test_known_text_is_force_aligned_when_the_engine_can_align():
    whisper = FakeWhisper(aligner=FakeAligner())
    text = "Hello   there,\nbrave world!"
    transcript = run_timing(engines_of(whisper), AUDIO, choice="whisperx", language="en", known_text=text)
    assert whisper.calls == [("align_text", text, "en")]
    assert transcript.method == "wav2vec2-known-text" and transcript.model == "fake-whisper"
    assert transcript.text == "Hello there, brave world!"
    assert [w.word for w in transcript.words] == ["Hello", "there,", "brave", "world!"]
    assert set(transcript.timings_ms) == {"align", "known_text"}
    assert transcript.known_text == {"matched": 3, "interpolated": 1, "unmatched": 0}
    # the unplaced last word fills the gap up to the end of the audio
    assert transcript.words[-1].start == pytest.approx(0.55) and transcript.words[-1].end == pytest.approx(3.0)


def test_known_text_detects_the_language_before_choosing_alignment():
    whisper = FakeWhisper(aligner=FakeAligner(), detected="en")
    transcript = run_timing(engines_of(whisper), AUDIO, choice="whisperx", language=None, known_text="hello world")
    assert names_called(whisper) == ["detect_language", "align_text"]
    assert transcript.language == "en"


def test_known_text_in_a_language_without_an_aligner_transcribes_and_maps():
    whisper = FakeWhisper(aligner=FakeAligner(["en"]), detected="de")
    transcript = run_timing(engines_of(whisper), AUDIO, choice="whisperx", language=None, known_text="Hallo, Welt!")
    assert names_called(whisper) == ["detect_language", "transcribe"]
    assert whisper.calls[1] == ("transcribe", "de")
    assert transcript.method == "whisperx-words+known-text" and transcript.language == "de"
    assert [w.word for w in transcript.words] == ["Hallo,", "Welt!"]
    assert set(transcript.timings_ms) == {"transcribe", "known_text"}


def test_known_text_without_an_aligner_never_detects_the_language():
    whisper = FakeWhisper(aligner=None)
    transcript = run_timing(engines_of(whisper), AUDIO, choice="whisperx", language=None, known_text="Hello, world.")
    assert names_called(whisper) == ["transcribe"]
    assert transcript.method == "whisperx-words+known-text"
    assert [(w.word, w.start) for w in transcript.words] == [("Hello,", 0.5), ("world.", 1.0)]
    assert transcript.known_text == {"matched": 2, "interpolated": 0, "unmatched": 0}


def test_known_text_on_an_engine_without_alignment_support_transcribes_and_maps():
    google = FakeRecogniser("google", words=[*HEARD, Word(word="um", start=1.7, end=1.8)])
    transcript = transcribe_known_text(google, AUDIO, "en", "Hello world")
    assert google.calls == [("transcribe", "en")]
    assert transcript.engine == "google" and transcript.model is None
    assert transcript.method == "google-words+known-text"
    assert transcript.known_text == {"matched": 2, "interpolated": 0, "unmatched": 1}


def test_known_text_alignment_failure_falls_back_to_the_next_engine():
    whisper = FakeWhisper(aligner=FakeAligner(), align_fail=EngineFailure("alignment failed"))
    google = FakeRecogniser("google")
    transcript = run_timing(engines_of(whisper, google), AUDIO, choice="auto", language="en", known_text="hello world")
    assert transcript.engine == "google" and transcript.method == "google-words+known-text"
    assert [w.word for w in transcript.words] == ["hello", "world"]


def test_known_text_segments_follow_its_sentences():
    text = "Hello world. How are you? Fine!"
    transcript = run_timing(
        engines_of(FakeRecogniser("google")), AUDIO, choice="google", language="en", known_text=text
    )
    assert [s.text for s in transcript.segments] == ["Hello world.", "How are you?", "Fine!"]
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and transcript.words[-1].end <= 3.0


# ------------------------------------------------------------------ stt without text: which way times the words


class FakeForcedAligner:
    """The known-text aligner's role: English only; places every token 0.3 s after the one before."""

    name = "aligner"
    english = SimpleNamespace(name="pocketsphinx")  # the model name a known-text transcript reports

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.calls: list[list[str]] = []
        self.readings: list[dict | None] = []

    def handles(self, text, language):
        return (language or "en") == "en"

    def align(self, audio, tokens, readings=None):
        self.calls.append(list(tokens))
        self.readings.append(readings)
        if self.fail:
            return None
        return TokenTimes([(0.1 + 0.3 * i, 0.35 + 0.3 * i) for i in range(len(tokens))], [4] * len(tokens))


def engines_with_aligner(*recognisers, aligner=None) -> Engines:
    engines = engines_of(*recognisers)
    engines.loaded["aligner"] = aligner or FakeForcedAligner()
    return engines


def test_choices_name_the_recognisers_they_may_run():
    assert recognisers_for("auto") == recognisers_for("aligner") == ("whisperx", "google")
    assert recognisers_for("whisper") == recognisers_for("whisperx") == ("whisperx",)
    assert recognisers_for("google") == ("google",)


def test_auto_without_text_force_aligns_the_recognised_words_in_english():
    """The recogniser's words and text, the forced aligner's times; wav2vec2 is not run to be overwritten."""
    whisper, aligner = FakeWhisper(aligner=FakeAligner()), FakeForcedAligner()
    transcript = run_timing(
        engines_with_aligner(whisper, aligner=aligner), AUDIO, choice="auto", language="en", known_text=None
    )
    assert whisper.calls == [("transcribe", "en")] and aligner.calls == [["hello", "world"]]
    assert transcript.engine == "whisperx" and transcript.method == "whisperx-words+pocketsphinx"
    assert transcript.timing == "aligner" and transcript.text == "hello world"
    assert [(w.word, w.start, w.timed_by) for w in transcript.words] == [
        ("hello", 0.1, "aligned"),
        ("world", 0.4, "aligned"),
    ]
    assert [w.confidence for w in transcript.words] == [0.9, 0.8]
    assert set(transcript.timings_ms) == {"transcribe", "align"}
    assert transcript.alignment["aligned"] == 2 and transcript.alignment["fallback_pieces"] == []


def test_a_piece_the_aligner_cannot_place_keeps_the_recognisers_times():
    whisper = FakeWhisper()
    engines = engines_with_aligner(whisper, aligner=FakeForcedAligner(fail=True))
    transcript = run_timing(engines, AUDIO, choice="auto", language="en", known_text=None)
    assert [(w.word, w.start, w.end, w.timed_by) for w in transcript.words] == [
        ("hello", 0.5, 0.9, "matched"),
        ("world", 1.0, 1.6, "matched"),
    ]
    assert transcript.timing == "aligner"
    (piece,) = transcript.alignment["fallback_pieces"]
    assert piece["timed_by"] == "recogniser" and piece["fallback"] == "no alignment found"


def test_whisper_keeps_the_recognisers_own_times():
    whisper, aligner = FakeWhisper(aligner=FakeAligner()), FakeForcedAligner()
    engines = engines_with_aligner(whisper, aligner=aligner)
    transcript = run_timing(engines, AUDIO, choice="whisper", language="en", known_text=None)
    assert whisper.calls == [("transcribe", "en")] and aligner.calls == []
    assert transcript.timing == "whisper" and transcript.method == "whisperx-words"
    assert [(w.start, w.timed_by) for w in transcript.words] == [(0.5, "matched"), (1.0, "matched")]


def test_whisperx_runs_wav2vec2_and_not_the_forced_aligner():
    whisper, aligner = FakeWhisper(aligner=FakeAligner()), FakeForcedAligner()
    transcript = run_timing(
        engines_with_aligner(whisper, aligner=aligner), AUDIO, choice="whisperx", language="en", known_text=None
    )
    assert names_called(whisper) == ["transcribe", "realign"] and aligner.calls == []
    assert transcript.timing == "whisperx" and set(transcript.timings_ms) == {"transcribe", "align"}


def test_auto_in_a_language_the_forced_aligner_does_not_take_uses_wav2vec2():
    whisper, aligner = FakeWhisper(aligner=FakeAligner(["de"])), FakeForcedAligner()
    transcript = run_timing(
        engines_with_aligner(whisper, aligner=aligner), AUDIO, choice="auto", language="de", known_text=None
    )
    assert names_called(whisper) == ["transcribe", "realign"] and aligner.calls == []
    assert transcript.timing == "whisperx"


def test_aligner_without_the_forced_aligner_is_unavailable_before_any_work():
    whisper = FakeWhisper()
    engines = engines_of(whisper, errors={"aligner": "disabled (FORCED_ALIGNER=off)"})
    with pytest.raises(EngineUnavailable, match=r"^no timing engine could run \(aligner: disabled"):
        run_timing(engines, AUDIO, choice="aligner", language="en", known_text=None)
    assert whisper.calls == []


@pytest.mark.parametrize("known_text", [None, "Hallo Welt"])
def test_aligner_in_another_language_is_unavailable(known_text):
    whisper = FakeWhisper(aligner=FakeAligner(["de"]))
    with pytest.raises(EngineUnavailable, match="forced aligner times English only"):
        run_timing(engines_with_aligner(whisper), AUDIO, choice="aligner", language="de", known_text=known_text)
    assert whisper.calls == []  # refused before any transcription


def test_aligner_for_audio_recognised_as_another_language_is_unavailable_after_recognition():
    whisper = FakeWhisper(language="de")
    with pytest.raises(EngineUnavailable, match="forced aligner times English only"):
        run_timing(engines_with_aligner(whisper), AUDIO, choice="aligner", language=None, known_text=None)
    assert whisper.calls == [("transcribe", None)]


def test_aligner_with_nothing_heard_returns_the_empty_transcript():
    transcript = run_timing(
        engines_with_aligner(FakeWhisper(words=[])), AUDIO, choice="aligner", language=None, known_text=None
    )
    assert transcript.words == [] and transcript.text == ""


def test_known_text_keeps_a_pause_possible_where_the_normaliser_dropped_a_full_stop():
    """'Dr.' is said 'Doctor' but a pause may follow it: the aligner gets 'Doctor.' (an optional pause)."""
    aligner = FakeForcedAligner()
    engines = engines_with_aligner(FakeWhisper(), aligner=aligner)
    transcript = run_timing(engines, AUDIO, choice="auto", language="en", known_text="Dr. Nakamura paid $5.")
    assert aligner.calls == [["Doctor.", "Nakamura", "paid", "five", "dollars."]]
    assert [w.word for w in transcript.words] == ["Dr.", "Nakamura", "paid", "$5."]


def test_known_text_offers_the_aligner_other_readings_of_amounts():
    """'$12.80' may be said 'twelve eighty' or as written (espeak-ng): the aligner picks what was said."""
    aligner = FakeForcedAligner()
    engines = engines_with_aligner(FakeWhisper(), aligner=aligner)
    transcript = run_timing(engines, AUDIO, choice="auto", language="en", known_text="She paid $12.80, not 9.")
    assert aligner.calls == [["She", "paid", "twelve", "dollars", "eighty,", "not", "nine."]]
    assert aligner.readings == [{(2, 5): ["$12.80", "twelve eighty"], (6, 7): ["9"]}]
    assert [w.word for w in transcript.words] == ["She", "paid", "$12.80,", "not", "9."]
