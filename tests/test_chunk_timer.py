"""``tts`` word times chunk by chunk (``f5worker.timing.chunk_timer``) on real espeak-ng speech.

Chunks are spoken by espeak-ng and joined with the worker's own ``CrossFadeJoiner``; the pieces it
releases are what a stream item holds, so timing them one by one is what a streamed job does.
"""

from __future__ import annotations

import numpy as np
import pytest

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.engines import Engines
from f5worker.engines.f5 import CrossFadeJoiner
from f5worker.media.encode import resample
from f5worker.media.silence import long_silence_mask
from f5worker.media.text_normalize import normalize_english
from f5worker.timing.aligner import ForcedAligner
from f5worker.timing.chunk_timer import floor_ms
from f5worker.timing.engine_choice import chunk_timer
from tests.speech import espeak_speech, load_16k

TEXTS = ["Dr. Tanaka paid $1,250 in 2014 —", "and then, after a long pause, he flew to Frankfurt."]


@pytest.fixture(scope="module")
def engines() -> Engines:
    return Engines(loaded={"aligner": ForcedAligner.load()})


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """The two chunks joined with a 0.15 s cross-fade: (released pieces, spans, speech)."""
    folder = tmp_path_factory.mktemp("chunks")
    joiner = CrossFadeJoiner(round(0.15 * F5_SAMPLE_RATE))
    pieces = []
    for index, text in enumerate(TEXTS):
        espeak_speech(normalize_english(text), folder / f"{index}.wav")
        wave = resample(load_16k(folder / f"{index}.wav"), 16000, F5_SAMPLE_RATE)
        wave = np.concatenate([wave, np.zeros(F5_SAMPLE_RATE, np.float32)])  # a pause silence removal shortens
        pieces.append(joiner.push(wave, normalize_english(text)))
    pieces[-1] = np.concatenate([pieces[-1], joiner.finish()])  # the last item holds the tail
    return pieces, joiner.spans, np.concatenate(pieces)


def new_timer(engines: Engines, spans):
    return chunk_timer(engines, " ".join(TEXTS), " ".join(span.text for span in spans), F5_SAMPLE_RATE)


def test_chunks_timed_as_streamed_equal_the_whole_output_timed_at_the_end(engines, joined):
    pieces, spans, speech = joined
    streamer = new_timer(engines, spans)
    position, chunk_words = 0, []
    for piece, span in zip(pieces, spans, strict=True):
        words = streamer.time_chunk(span.index, span.text, piece, position)
        assert words and position / F5_SAMPLE_RATE - 0.001 <= words[0].start
        assert words[-1].end <= (position + piece.size) / F5_SAMPLE_RATE
        chunk_words.append(words)
        position += piece.size
    # "$1,250" and "—" stay in the chunk that says them
    assert [[w.word for w in words] for words in chunk_words] == [text.split() for text in TEXTS]
    streamed = [w for words in chunk_words for w in words]
    final = streamer.transcript(speech, spans)
    assert final.words == streamed and final.known_text["pieces"] == 2
    assert final.known_text["aligned"] >= len(streamed) - 2
    at_the_end = new_timer(engines, spans).transcript(speech, spans)
    assert at_the_end.words == final.words  # the same chunks, aligned after synthesis


def test_silence_removal_maps_every_chunk_and_keeps_the_words_inside_the_audio(engines, joined):
    _pieces, spans, speech = joined
    plain = new_timer(engines, spans).transcript(speech, spans)
    keep = long_silence_mask(speech, F5_SAMPLE_RATE)
    removed = new_timer(engines, spans).transcript(speech, spans, keep=keep)
    assert removed.words[-1].end <= keep.sum() / F5_SAMPLE_RATE
    assert removed.words[-1].start < plain.words[-1].start - 0.5  # the pause after chunk 0 was shortened
    for earlier, later in zip(removed.words, removed.words[1:], strict=False):
        assert later.start >= earlier.end


def test_chunks_that_do_not_add_up_to_the_text_are_timed_whole(engines, joined):
    pieces, spans, speech = joined
    timer = chunk_timer(engines, " ".join(TEXTS), "Something else entirely.", F5_SAMPLE_RATE)
    assert timer.time_chunk(0, spans[0].text, pieces[0], 0) is None
    whole = timer.transcript(speech, spans)
    assert [w.word for w in whole.words] == " ".join(TEXTS).split() and whole.known_text["pieces"] == 1


def test_check_confidences_reach_the_words_streamed_and_whole(engines, joined):
    """Known-text word i carries ``word_confidences[i]`` (tts retakes fill it), in either timing path."""
    pieces, spans, speech = joined
    confidences = {index: round(0.5 + index / 100, 3) for index in range(0, len(" ".join(TEXTS).split()), 2)}
    streamer = new_timer(engines, spans)
    streamer.word_confidences = confidences
    position, streamed = 0, []
    for piece, span in zip(pieces, spans, strict=True):
        streamed += streamer.time_chunk(span.index, span.text, piece, position)
        position += piece.size
    assert [word.confidence for word in streamed] == [confidences.get(i) for i in range(len(streamed))]
    assert streamer.transcript(speech, spans).words == streamed
    whole = chunk_timer(engines, " ".join(TEXTS), "Something else entirely.", F5_SAMPLE_RATE)
    whole.word_confidences = confidences
    words = whole.transcript(speech, spans).words
    assert [word.confidence for word in words] == [confidences.get(i) for i in range(len(words))]


@pytest.mark.parametrize(("seconds", "expected"), [(0.0, 0), (1.2345, 1234), (0.3, 300), (2.9999999, 2999)])
def test_floor_ms_never_steps_past_the_time(seconds, expected):
    assert floor_ms(seconds) == expected and floor_ms(seconds) / 1000 <= seconds
