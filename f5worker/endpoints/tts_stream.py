"""Streamed ``tts``: each chunk's settled audio as a stream item while the job goes on; and job cancel.

The job itself is :func:`f5worker.endpoints.tts.run`, unchanged: it hands the synthesis loop
(:mod:`.tts_speech`) the listener made here, which turns every piece the cross-fade joiner releases
into an item and gives it to the ``emit`` function the streaming handler installed for this job (a
context variable, copied into the job's thread like the progress reporter). Items carry raw 16-bit
PCM at F5-TTS's 24 kHz, converted exactly as the wav file is, so the items' audio concatenated
equals the job's 24 kHz wav samples.
With word timings, each item also carries its chunk's words, force-aligned in the item's own audio
by the job's :class:`~f5worker.timing.chunk_timer.ChunkTimer`, which the final output reuses.

The same listener checks the job's cancel flag before each chunk is handed on, so a cancelled or
abandoned job stops at the next chunk boundary (and the model is released).
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE
from ..engines.f5 import ChunkSpan, PieceListener
from ..errors import InvalidInput, JobCancelled
from ..media.encode import pcm16_bytes
from ..timing.chunk_timer import ChunkTimer
from ..timing.engine_choice import chunk_timer

STREAM_AUDIO_FORMAT = "pcm_s16le"

_emitter: ContextVar[Callable[[dict], None] | None] = ContextVar("stream_emitter", default=None)
_cancelled: ContextVar[threading.Event | None] = ContextVar("job_cancelled", default=None)


@contextlib.contextmanager
def job_signals(emit: Callable[[dict], None] | None, cancelled: threading.Event | None) -> Iterator[None]:
    """Install this job's stream sink (None: not a streaming handler) and cancel flag for the current context."""
    tokens = (_emitter.set(emit), _cancelled.set(cancelled))
    try:
        yield
    finally:
        _cancelled.reset(tokens[1])
        _emitter.reset(tokens[0])


def raise_if_cancelled() -> None:
    event = _cancelled.get()
    if event is not None and event.is_set():
        raise JobCancelled("the job was cancelled; synthesis stopped at a chunk boundary")


def check_stream_request(stream: bool, remove_silence: bool) -> None:
    """Refuse what a streamed job cannot honour, before any work is done."""
    if not stream:
        return
    if _emitter.get() is None:
        raise InvalidInput(
            "stream: this endpoint does not stream (its workers run without STREAM_HANDLER=true); "
            "send the job without 'stream'"
        )
    if remove_silence:
        raise InvalidInput(
            "remove_silence: cannot be combined with stream (silences are cut from the whole audio, "
            "after chunks were already sent)"
        )


def chunk_word_timer(request, engines, plan) -> ChunkTimer | None:
    """The job's chunk-by-chunk word timer: when word timings are asked for with ``timing_engine`` auto
    and the warm aligner takes the text; else None (the job is timed by a recogniser at the end).

    Streamed chunks are aligned as their items are made and carry their words; the final output
    reuses those alignments (see :mod:`f5worker.timing.chunk_timer`).
    """
    if not request.return_word_timings or request.timing_engine != "auto":
        return None
    speakers = plan.piece_speakers if plan.multi_voice else None  # a single voice's words carry no speaker
    respell = plan.lexicon.say if plan.lexicon else None  # typed words read as their respellings
    timer = chunk_timer(engines, plan.known_text, plan.spoken_text, F5_SAMPLE_RATE, speakers, respell, request.language)
    if timer is not None:  # a chunk before a pause tag: its last word carries the pause (a caption ends there)
        timer.pauses_after = {
            index: round(after.samples / F5_SAMPLE_RATE, 3)
            for index, after in enumerate(plan.pieces[1:])
            if getattr(after, "exact", False)
        }
    return timer


class ChunkStreamer:
    """Builds one stream item per chunk from the joiner's pieces (the last chunk waits for the tail).

    With a ``timer``, each item carries its chunk's ``words``, aligned in the item's own audio.
    """

    def __init__(self, emit: Callable[[dict], None], chunks: int, timer: ChunkTimer | None = None):
        self.emit = emit
        self.chunks = chunks
        self.timer = timer
        self.position = 0  # samples already sent
        self.held: tuple[np.ndarray, ChunkSpan] | None = None

    def __call__(self, samples: np.ndarray, span: ChunkSpan, final: bool) -> None:
        raise_if_cancelled()
        if final:
            held_samples, held_span = self.held or (np.zeros(0, dtype=np.float32), span)
            self.held = None
            self._send(np.concatenate([held_samples, samples]), held_span)
        elif span.index == self.chunks - 1:
            self.held = (samples, span)  # the last chunk goes out with its tail, as one item
        else:
            self._send(samples, span)

    def _send(self, samples: np.ndarray, span: ChunkSpan) -> None:
        item = {
            "type": "chunk",
            "seq": span.index,
            "chunks": self.chunks,
            "text": span.text,
            "start_s": round(self.position / F5_SAMPLE_RATE, 6),
            "duration_s": round(samples.size / F5_SAMPLE_RATE, 6),
            "audio": base64.b64encode(pcm16_bytes(samples)).decode("ascii"),
            "audio_format": STREAM_AUDIO_FORMAT,
            "sample_rate": F5_SAMPLE_RATE,
        }
        if self.timer is not None:
            words = self.timer.time_chunk(span.index, span.text, samples, self.position)
            if words is not None:  # None: the chunks did not tile the text; the final item has the words
                item["words"] = [word.model_dump() for word in words]
        self.emit(item)
        self.position += samples.size


def piece_listener(stream: bool, chunks: int, timer: ChunkTimer | None = None) -> PieceListener:
    """What ``tts`` gives the engine: a :class:`ChunkStreamer` for streamed jobs, else a cancel check
    (a job not streamed is aligned after synthesis, with the model free for the next job)."""
    emit = _emitter.get()
    if stream and emit is not None:
        return ChunkStreamer(emit, chunks, timer)
    return lambda _samples, _span, _final: raise_if_cancelled()
