"""What each engine role must offer; endpoints and timing depend on these, never on a model's class.

A role is structural (``typing.Protocol``, as :class:`f5worker.storage.base.Storage`): the real
engines and the test doubles fill it without inheriting anything. Nothing is checked at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..timing.sphinx import TokenTimes
    from ..timing.transcript import Transcript
    from .f5 import SynthesisParams


class Engine(Protocol):
    def describe(self) -> dict:
        """Non-secret facts for ``health`` and job outputs (model, device, versions)."""


class Synthesiser(Engine, Protocol):
    """The ``tts`` role: speech in a reference voice, one chunk per call (F5-TTS); the job joins them."""

    def synthesize_chunk(
        self,
        ref_audio: np.ndarray,
        ref_text: str,
        text: str,
        params: SynthesisParams,
        *,
        seed: int,
        duration: float | None = None,
    ) -> np.ndarray:
        """24 kHz float32 mono speech of ``text`` in the reference's voice, reproducible by ``seed``."""


class Recogniser(Engine, Protocol):
    """A timing engine (``whisperx``, ``google``): 16 kHz speech -> text with word times."""

    name: str

    def transcribe(self, audio: np.ndarray, language: str | None) -> Transcript:
        """Raise :class:`~f5worker.timing.transcript.EngineFailure` when it cannot."""


class TextAligningRecogniser(Recogniser, Protocol):
    """A recogniser that can also place a known text (WhisperX with a wav2vec2 model loaded)."""

    aligner: object | None

    def detect_language(self, audio: np.ndarray) -> str: ...

    def can_align(self, language: str | None) -> bool: ...

    def align_text(self, audio: np.ndarray, text: str, language: str) -> list[dict]: ...

    def transcribe(self, audio: np.ndarray, language: str | None, *, realign: bool = True) -> Transcript:
        """``realign=False``: the recogniser's own times (another aligner will time the words)."""

    def realign(self, transcript: Transcript, audio: np.ndarray) -> Transcript:
        """The words re-timed by the alignment model, or the transcript unchanged when it has none."""


class KnownTextAligner(Engine, Protocol):
    """The ``aligner`` role: known tokens placed in speech without recognising it (pocketsphinx)."""

    def handles(self, text: str, language: str | None) -> bool:
        """Whether this text (in this language, or guessed when None) is one it can align."""

    def align(
        self, audio: np.ndarray, tokens: list[str], readings: dict[tuple[int, int], list[str]] | None = None
    ) -> TokenTimes | None:
        """Times of ``tokens``; ``readings``: other ways of saying runs of them (the aligner picks what was said)."""
