"""Streamed ``tts``: each chunk's settled audio as a stream item while the job goes on; and job cancel.

The job itself is :func:`f5worker.endpoints.tts.run`, unchanged: it hands the synthesis loop
(:mod:`.tts_speech`) the listener made here, which turns every piece the cross-fade joiner releases
into items and gives them to the ``emit`` of the job's signals (``ctx.signals``, which the streaming
handler made for this job). Items carry raw 16-bit PCM at F5-TTS's 24 kHz, converted exactly as the
wav file is, so the items' audio concatenated equals the job's 24 kHz wav samples; a chunk longer
than 10 s goes out in parts, so no item reaches RunPod's 1 MB limit. With word timings, a chunk's
first item also carries its words, force-aligned in the chunk's own audio by the job's
:class:`~f5worker.timing.chunk_timer.ChunkTimer`, which the final output reuses.

The same listener checks the job's cancel flag before each chunk is handed on, so a cancelled or
abandoned job stops at the next chunk boundary (and the model is released).
"""

from __future__ import annotations

import base64

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE
from ..engines.f5 import ChunkSpan, PieceListener
from ..errors import InvalidInput
from ..job_signals import JobSignals
from ..media.encode import pcm16_bytes
from ..timing.chunk_timer import ChunkTimer
from ..timing.engine_choice import chunk_timer

STREAM_AUDIO_FORMAT = "pcm_s16le"
# RunPod splits a streamed item over 1 MB into pieces a /stream reader cannot use whole, so a chunk's
# audio goes out in parts: 10 s of PCM is 640,000 bytes of base64, which leaves over 300 kB of the
# item for its text and words (a chunk is at most about 87 s: 9 parts).
STREAM_ITEM_MAX_BYTES = 1_000_000
PART_SAMPLES = 10 * F5_SAMPLE_RATE


def check_stream_request(stream: bool, remove_silence: bool, signals: JobSignals) -> None:
    """Refuse what a streamed job cannot honour, before any work is done."""
    if not stream:
        return
    if not signals.streams:
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
    """Builds the stream items of each chunk from the joiner's pieces (the last chunk waits for the tail).

    A chunk is one item, or several (``part`` of ``parts``) when its audio is longer than
    ``PART_SAMPLES``, so no item reaches RunPod's 1 MB. With a ``timer``, a chunk's first item carries
    the chunk's ``words``, aligned in the chunk's own audio.
    """

    def __init__(self, signals: JobSignals, chunks: int, timer: ChunkTimer | None = None):
        self.signals = signals
        self.chunks = chunks
        self.timer = timer
        self.position = 0  # samples already sent
        self.held: tuple[np.ndarray, ChunkSpan] | None = None

    def __call__(self, samples: np.ndarray, span: ChunkSpan, final: bool) -> None:
        self.signals.raise_if_cancelled()
        if final:
            held_samples, held_span = self.held or (np.zeros(0, dtype=np.float32), span)
            self.held = None
            self._send(np.concatenate([held_samples, samples]), held_span)
        elif span.index == self.chunks - 1:
            self.held = (samples, span)  # the last chunk goes out with its tail, as one item
        else:
            self._send(samples, span)

    def _send(self, samples: np.ndarray, span: ChunkSpan) -> None:
        """The chunk's items: its audio in parts of at most ``PART_SAMPLES``, its words with the first."""
        words = None
        if self.timer is not None:  # None: the chunks did not tile the text; the final item has the words
            words = self.timer.time_chunk(span.index, span.text, samples, self.position)
        pcm = pcm16_bytes(samples)
        firsts = range(0, max(samples.size, 1), PART_SAMPLES)
        for part, first in enumerate(firsts):
            audio = pcm[2 * first : 2 * (first + PART_SAMPLES)]
            item = {
                "type": "chunk",
                "seq": span.index,
                "chunks": self.chunks,
                "part": part,
                "parts": len(firsts),
                "text": span.text,
                "start_s": round((self.position + first) / F5_SAMPLE_RATE, 6),
                "duration_s": round(len(audio) // 2 / F5_SAMPLE_RATE, 6),
                "audio": base64.b64encode(audio).decode("ascii"),
                "audio_format": STREAM_AUDIO_FORMAT,
                "sample_rate": F5_SAMPLE_RATE,
            }
            if part == 0 and words is not None:
                item["words"] = [word.model_dump() for word in words]
            self.signals.emit(item)
        self.position += samples.size


def piece_listener(signals: JobSignals, stream: bool, chunks: int, timer: ChunkTimer | None = None) -> PieceListener:
    """What ``tts`` gives the synthesis loop: a :class:`ChunkStreamer` for streamed jobs, else a cancel
    check (a job not streamed is aligned after synthesis, with the model free for the next job)."""
    if stream and signals.streams:
        return ChunkStreamer(signals, chunks, timer)
    return lambda _samples, _span, _final: signals.raise_if_cancelled()
