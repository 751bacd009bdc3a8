"""A test-only synthesis engine behind F5Engine's interface that speaks with espeak-ng and knows the truth.

The tiny random F5-TTS models only make noise, so the ``tts`` path's word timings can only be checked
against ground truth with real speech: this engine speaks each chunk with espeak-ng (through
``tests.speech.espeak_speech``, which records espeak's own word onsets) and keeps what it said. The job
joins the chunks with the worker's own loop and ``CrossFadeJoiner``; :meth:`EspeakTtsEngine.joined`
joins the chunks spoken since the last :meth:`reset` the same way, giving the job's audio before
silence removal and every spoken token's true start in it. Stands in for F5-TTS because no real F5
weights exist here.

It also makes F5-TTS's failures on demand, for the retake tests: ``faults`` maps a take's seed (each
chunk's takes have seeds of their own) to ``drop`` (the chunk's longest word left out), ``double``
(it said twice), ``swap`` (another word said in its place) or ``cut`` (the last 40 % of the audio cut).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.engines.f5 import CrossFadeJoiner, F5Engine, SynthesisParams
from f5worker.media.encode import resample
from tests.speech import espeak_speech, load_16k

FAULTS = ("drop", "double", "swap", "cut")
SWAPPED_IN = "elephant"


def corrupted(text: str, fault: str) -> str:
    """``text`` as a faulty take says it (``cut`` is done on the audio)."""
    words = text.split()
    longest = max(range(len(words)), key=lambda index: len(words[index].strip(".,;:!?")))
    if fault == "drop":
        del words[longest]
    elif fault == "double":
        words.insert(longest, words[longest].strip(".,;:!?"))
    elif fault == "swap":
        words[longest] = SWAPPED_IN
    return " ".join(words)


@dataclass(frozen=True)
class SpokenChunk:
    text: str  # what the chunk should say
    seed: int
    fault: str | None
    wave: np.ndarray  # 24 kHz
    starts: list[tuple[str, float | None]]  # (spoken token, start in the wave, s)


class EspeakTtsEngine(F5Engine):
    """F5Engine with espeak-ng in place of the model: only ``synthesize_chunk`` (and ``describe``) differ.

    ``voices`` maps a reference text to an espeak voice and pace, so multi-voice jobs sound like two
    speakers; any other reference speaks with ``voice`` at ``words_per_minute``.
    """

    def __init__(
        self, voice: str = "en-us", words_per_minute: int = 160, voices: dict[str, tuple[str, int]] | None = None
    ):  # no model, vocoder or lock: the F5-TTS parts are never used
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.voices = dict(voices or {})
        self.faults: dict[int, str] = {}  # take seed -> fault
        self.spoken: list[SpokenChunk] = []  # every take since the last reset, in order

    def describe(self) -> dict:
        return {"model": "espeak-ng (test stand-in for F5-TTS)", "voice": self.voice, "device": "cpu"}

    def reset(self) -> None:
        self.spoken = []

    def synthesize_chunk(
        self, ref_audio, ref_text, text, params: SynthesisParams, *, seed, duration=None
    ) -> np.ndarray:
        """The chunk as espeak-ng says it in the reference's espeak voice; the model settings mean nothing here."""
        voice, words_per_minute = self.voices.get(ref_text, (self.voice, self.words_per_minute))
        fault = self.faults.get(seed)
        said = corrupted(text, fault) if fault else text
        with tempfile.TemporaryDirectory(prefix="espeak-tts-") as folder:
            wav = Path(folder) / "chunk.wav"
            starts = espeak_speech(said, wav, voice=voice, words_per_minute=round(words_per_minute * params.speed))
            wave = resample(load_16k(wav), 16000, F5_SAMPLE_RATE)
        if fault == "cut":
            wave = wave[: round(wave.size * 0.6)]
        self.spoken.append(SpokenChunk(text, seed, fault, wave, starts))
        return wave

    def joined(
        self, cross_fade_duration: float = 0.15, seeds: list[int] | None = None
    ) -> tuple[np.ndarray, list[tuple[str, float | None]]]:
        """The takes spoken since the last reset (only those of ``seeds``, in that order, when given)
        joined as a job joins them, and each spoken token's true start in that audio (s)."""
        by_seed = {chunk.seed: chunk for chunk in self.spoken}
        takes = self.spoken if seeds is None else [by_seed[seed] for seed in seeds]
        joiner = CrossFadeJoiner(round(cross_fade_duration * F5_SAMPLE_RATE))
        pieces = [joiner.push(chunk.wave, chunk.text) for chunk in takes]
        pieces.append(joiner.finish())
        truth = [
            (token, None if start is None else span.start / F5_SAMPLE_RATE + start)
            for span, chunk in zip(joiner.spans, takes, strict=True)
            for token, start in chunk.starts
        ]
        return np.concatenate(pieces).astype(np.float32, copy=False), truth
