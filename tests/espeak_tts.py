"""A test-only synthesis engine behind F5Engine's interface that speaks with espeak-ng and knows the truth.

The tiny random F5-TTS models only make noise, so the ``tts`` path's word timings can only be checked
against ground truth with real speech: this engine speaks each chunk with espeak-ng (through
``tests.speech.espeak_speech``, which records espeak's own word onsets), joins the chunks with the
worker's ``CrossFadeJoiner`` exactly as ``F5Engine`` does, and keeps every spoken token's true start
(in samples of the joined 24 kHz output). Stands in for F5-TTS because no real F5 weights exist here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.engines.f5 import ChunkSpan, CrossFadeJoiner
from f5worker.media.encode import resample
from tests.speech import espeak_speech, load_16k


class EspeakTtsEngine:
    """``iter_chunks`` / ``synthesize_with_spans`` / ``synthesize`` with F5Engine's signatures."""

    def __init__(self, voice: str = "en-us", words_per_minute: int = 160):
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.truth: list[tuple[str, float | None]] = []  # (spoken token, start in the joined output, s)
        self._chunk_truth: list[list[tuple[str, float | None]]] = []
        self.last_speech = np.zeros(0, dtype=np.float32)  # the joined output of the last call

    def describe(self) -> dict:
        return {"model": "espeak-ng (test stand-in for F5-TTS)", "voice": self.voice, "device": "cpu"}

    def iter_chunks(
        self,
        *,
        ref_audio: np.ndarray,
        ref_text: str,
        chunks: list[str],
        nfe_step: int,
        cfg_strength: float,
        sway_sampling_coef: float,
        target_rms: float,
        cross_fade_duration: float,
        speed: float,
        seed: int,
        fix_duration: float | None,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[str, np.ndarray]]:
        self._chunk_truth = []
        with tempfile.TemporaryDirectory(prefix="espeak-tts-") as folder:
            for index, chunk in enumerate(chunks):
                wav = Path(folder) / f"{index}.wav"
                starts = espeak_speech(
                    chunk, wav, voice=self.voice, words_per_minute=round(self.words_per_minute * speed)
                )
                self._chunk_truth.append(starts)
                wave = resample(load_16k(wav), 16000, F5_SAMPLE_RATE)
                if on_chunk is not None:
                    on_chunk(index + 1, len(chunks))
                yield chunk, wave

    def synthesize_with_spans(
        self, *, cross_fade_duration: float, on_piece=None, **kwargs
    ) -> tuple[np.ndarray, list[ChunkSpan]]:
        joiner = CrossFadeJoiner(round(cross_fade_duration * F5_SAMPLE_RATE))
        pieces = []
        for text, wave in self.iter_chunks(cross_fade_duration=cross_fade_duration, **kwargs):
            pieces.append(joiner.push(wave, text))
            if on_piece is not None:  # streaming, as F5Engine does it
                on_piece(pieces[-1], joiner.spans[-1], False)
        pieces.append(joiner.finish())
        if on_piece is not None:
            on_piece(pieces[-1], joiner.spans[-1], True)
        self.last_speech = np.concatenate(pieces).astype(np.float32, copy=False)
        self.truth = [
            (token, None if start is None else span.start / F5_SAMPLE_RATE + start)
            for span, starts in zip(joiner.spans, self._chunk_truth, strict=True)
            for token, start in starts
        ]
        return self.last_speech, joiner.spans

    def synthesize(self, **kwargs) -> np.ndarray:
        return self.synthesize_with_spans(**kwargs)[0]
