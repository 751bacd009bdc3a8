"""Per-chunk retakes: each chunk is checked right after synthesis, before it is joined, streamed or timed.

F5-TTS sometimes swallows, repeats or garbles a word, or cuts a chunk's end; its maintainers' advice
is to synthesise again with another seed and keep the better take. With ``verify`` on, each take is
checked against its chunk's text by the script check (:mod:`f5worker.timing.script_check`: the
recogniser's round trip and the forced aligner). With ``retake`` a failing take is synthesised again
with the next seed of a fixed sequence (:func:`take_seed`: from the chunk's own seed, so the same job
and seed give the same audio), up to ``max_retakes`` times, and the best take is kept: the first that
passes, else the one with the lowest word error rate (the earliest on a tie). ``check`` only reports.

Only the kept take reaches the joiner, so a streamed item, the word timings and the captions are
made from the audio that is delivered. The kept take's per-word confidences (was this word said?)
are collected by known-text word (``word_confidences``) for the word timer, which puts them on the
timed words of both the streamed items and the final output.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE
from ..job_signals import JobSignals
from ..media.encode import resample
from ..timing.aligner import Respell
from ..timing.script_check import ScriptCheck, ScriptChecker
from .tts_plan import PlannedChunk

VERIFY_MODES = ("off", "check", "retake")


def take_seed(first_seed: int, take: int) -> int:
    """The seed of a chunk's take ``take``: its own seed for the first, then a fixed sequence from it
    (a spawn of the chunk's seed, so no take repeats another chunk's seed)."""
    if take == 0:
        return first_seed
    sequence = np.random.SeedSequence(first_seed, spawn_key=(take,))
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


@dataclass
class ChunkQuality:
    """What the check made of one chunk's kept take."""

    seq: int  # the chunk's index among the job's chunks
    verdict: str  # pass, fail or unchecked
    wer: float | None
    retakes: int  # takes synthesised after the first
    take: int  # the take kept (0: the first)
    reasons: list[str] = field(default_factory=list)

    def as_output(self) -> dict:
        wer = None if self.wer is None else round(self.wer, 4)
        return {
            "seq": self.seq,
            "verdict": self.verdict,
            "wer": wer,
            "retakes": self.retakes,
            "take": self.take,
            "reasons": self.reasons,
        }


def _rank(check: ScriptCheck, take: int) -> tuple:
    """Lower is better: a pass, then fewer word errors, then fewer findings, then the earlier take."""
    findings = len(check.missing) + len(check.extra) + len(check.repeated)
    return (check.verdict == "fail", 1.0 if check.wer is None else check.wer, findings, take)


class Retakes:
    """A job's chunk checks and retakes, and what they found and cost."""

    def __init__(
        self,
        checker: ScriptChecker,
        mode: str,
        max_retakes: int,
        signals: JobSignals,
        token_offsets: list[int] | None = None,
        respell: Respell = None,
    ):
        self.checker = checker
        self.mode = mode
        self.max_retakes = max_retakes if mode == "retake" else 0
        self.signals = signals
        self.token_offsets = token_offsets  # per chunk: its first word's index in the known text
        self.respell = respell  # how a typed word reads (pronunciations), so words map to the right tokens
        self.word_confidences: dict[int, float] = {}  # known-text word index -> the kept take's confidence
        self.chunks: list[ChunkQuality] = []
        self.verify_ms = 0.0  # every check
        self.retake_ms = 0.0  # synthesis and checks of the takes after the first

    def speak(self, chunk: PlannedChunk, first_seed: int, synthesize: Callable[[int], np.ndarray]) -> np.ndarray:
        """The chunk's kept take; ``synthesize(seed)`` makes one take."""
        takes: list[tuple[np.ndarray, ScriptCheck]] = []
        for take in range(self.max_retakes + 1):
            started = time.perf_counter()
            if take:
                self.signals.raise_if_cancelled()  # a retake is a chunk's worth of work: stop here if asked
            wave = synthesize(take_seed(first_seed, take))
            checked = time.perf_counter()
            audio = resample(wave, F5_SAMPLE_RATE, SPEECH_SAMPLE_RATE)
            result = self.checker.check(audio, chunk.typed, spoken_text=chunk.spoken, respell=self.respell)
            done = time.perf_counter()
            self.verify_ms += (done - checked) * 1000
            if take:
                self.retake_ms += (done - started) * 1000
            takes.append((wave, result))
            if result.verdict != "fail":
                break
        kept = min(range(len(takes)), key=lambda take: _rank(takes[take][1], take))
        result = takes[kept][1]
        quality = ChunkQuality(len(self.chunks), result.verdict, result.wer, len(takes) - 1, kept, result.reasons)
        self._keep_confidences(len(self.chunks), chunk, result)
        self.chunks.append(quality)
        return takes[kept][0]

    def _keep_confidences(self, seq: int, chunk: PlannedChunk, result: ScriptCheck) -> None:
        if self.token_offsets is None or seq >= len(self.token_offsets) or result.verdict == "unchecked":
            return
        first = self.token_offsets[seq]
        for position, confidence in enumerate(result.token_confidences(len(chunk.typed.split()))):
            if confidence is not None:
                self.word_confidences[first + position] = round(confidence, 3)

    @property
    def retakes(self) -> int:
        return sum(chunk.retakes for chunk in self.chunks)

    def quality(self) -> dict:
        """The output's ``quality``: per chunk, and ``verified`` when every kept take passed."""
        return {
            "verify": self.mode,
            "verified": bool(self.chunks) and all(chunk.verdict == "pass" for chunk in self.chunks),
            "max_retakes": self.max_retakes,
            "retakes": self.retakes,
            "chunks": [chunk.as_output() for chunk in self.chunks],
        }

    def metrics(self) -> dict:
        return {"verify_ms": round(self.verify_ms, 1), "retakes": self.retakes, "retake_ms": round(self.retake_ms, 1)}
