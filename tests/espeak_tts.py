"""A test-only synthesis engine behind F5Engine's interface that speaks with espeak-ng and knows the truth.

The tiny random F5-TTS models only make noise, so the ``tts`` path's word timings can only be checked
against ground truth with real speech: this engine speaks each chunk with espeak-ng (through
``tests.speech.espeak_speech``, which records espeak's own word onsets), joins the chunks with the
worker's ``CrossFadeJoiner`` through ``F5Engine``'s own code, and keeps every spoken token's true start
(in samples of the joined 24 kHz output). Stands in for F5-TTS because no real F5 weights exist here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.engines.f5 import ChunkSpan, F5Engine
from f5worker.media.encode import resample
from tests.speech import espeak_speech, load_16k


class EspeakTtsEngine(F5Engine):
    """F5Engine with espeak-ng in place of the model: only ``iter_chunks`` (and ``describe``) differ, so
    the joining, spans and streaming are F5Engine's own.

    ``voices`` maps a reference text to an espeak voice and pace, so multi-voice jobs sound like two
    speakers; any other reference speaks with ``voice`` at ``words_per_minute``.
    """

    def __init__(
        self, voice: str = "en-us", words_per_minute: int = 160, voices: dict[str, tuple[str, int]] | None = None
    ):  # no model, vocoder or lock: the F5-TTS parts are never used
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.voices = dict(voices or {})
        self.truth: list[tuple[str, float | None]] = []  # (spoken token, start in the joined output, s)
        self._chunk_truth: list[list[tuple[str, float | None]]] = []
        self.last_speech = np.zeros(0, dtype=np.float32)  # the joined output of the last call

    def describe(self) -> dict:
        return {"model": "espeak-ng (test stand-in for F5-TTS)", "voice": self.voice, "device": "cpu"}

    def iter_chunks(
        self, *, ref_text: str, chunks: list[str], speed: float, on_chunk: Callable[[int, int], None] | None = None, **_
    ) -> Iterator[tuple[str, np.ndarray]]:
        """``(chunk text, wave)`` as F5Engine gives them; the other synthesis settings mean nothing here."""
        voice, words_per_minute = self.voices.get(ref_text, (self.voice, self.words_per_minute))
        self._chunk_truth = []
        with tempfile.TemporaryDirectory(prefix="espeak-tts-") as folder:
            for index, chunk in enumerate(chunks):
                wav = Path(folder) / f"{index}.wav"
                starts = espeak_speech(chunk, wav, voice=voice, words_per_minute=round(words_per_minute * speed))
                self._chunk_truth.append(starts)
                wave = resample(load_16k(wav), 16000, F5_SAMPLE_RATE)
                if on_chunk is not None:
                    on_chunk(index + 1, len(chunks))
                yield chunk, wave

    def synthesize_with_spans(self, **kwargs) -> tuple[np.ndarray, list[ChunkSpan]]:
        """F5Engine's, keeping the output and each spoken token's true start in it."""
        self.last_speech, spans = super().synthesize_with_spans(**kwargs)
        self.truth = [
            (token, None if start is None else span.start / F5_SAMPLE_RATE + start)
            for span, starts in zip(spans, self._chunk_truth, strict=True)
            for token, start in starts
        ]
        return self.last_speech, spans
