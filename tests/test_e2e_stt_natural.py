"""Acceptance (issue 22): held-out natural speech through ``stt`` with ``text`` over ``--rp_serve_api``.

The Piper voice speaks tests/natural_sentences.py's HELD_OUT sentences (never used to choose anything
in the aligner) as F5-TTS would be given them (normalised), deterministically (noise_scale 0) at its
own rate; each goes to the worker as a 16 kHz WAV with the caller's text, and the returned word
starts are scored against the voice's own phoneme times (tests/piper_speech.py: word_times).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import soundfile as sf

from f5worker.media.text_normalize import normalize_english
from f5worker.timing.aligner import spoken_token_map
from tests.natural_sentences import HELD_OUT
from tests.piper_speech import SAMPLE_RATE, speak, word_times

MEAN_MS = 18.0
P95_MS = 45.0


def wav_base64(audio: np.ndarray) -> str:
    buffer = io.BytesIO()
    sf.write(buffer, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode()


def test_held_out_natural_speech_word_starts_through_stt(s3_worker):
    errors_ms: list[float] = []
    for text in HELD_OUT:
        spoken = normalize_english(text)
        utterance = speak(spoken, noise_scale=0.0)
        truth = word_times(utterance)
        output = s3_worker.output(
            {
                "endpoint": "stt",
                "audio": wav_base64(utterance.audio),
                "text": text,
                "language": "en",
                "timing_formats": [],
            }
        )
        words = output["words"]
        assert [word["word"] for word in words] == text.split()
        assert output["engine"]["method"].startswith("pocketsphinx-known-text")
        mapping = spoken_token_map(text.split(), spoken.split())
        for word, spoken_indices in zip(words, mapping, strict=True):
            if spoken_indices and truth[spoken_indices[0]].start_s is not None:
                errors_ms.append(abs(word["start"] - truth[spoken_indices[0]].start_s) * 1000)
    errors = np.array(errors_ms)
    assert errors.size > 80
    assert errors.mean() <= MEAN_MS and np.percentile(errors, 95) <= P95_MS, (errors.mean(), np.percentile(errors, 95))
