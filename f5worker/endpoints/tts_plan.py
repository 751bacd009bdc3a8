"""What a ``tts`` job will say, decided before any synthesis: the speech plan (turns -> chunks).

Every job is a dialogue: a single-voice job is one turn spoken by the job's ``voice``/``ref_audio``;
a multi-voice job (``segments`` or ``[voice]``-tagged text, see :mod:`.tts_dialogue`) has one turn per
segment. Each turn is normalised and cut into chunks against its own reference's pace
(:mod:`f5worker.media.chunking` holds the limits and the splitting rule), and the plan lists what the
cross-fade joiner is given, in order: chunks, and the pauses between turns (``segment_pause_s``).

Each chunk knows the text the model says (``spoken``), the caller's words it stands for (``typed``),
its turn (voice, reference and :class:`~f5worker.engines.f5.SynthesisParams`) and its seed, so the
synthesis loop (:mod:`.tts_speech`), the streamed items and the chunk timer all read one structure.

Seeds: turn k's chunks are seeded from ``chunk_seed(seed, k)`` (turn 0 from ``seed`` itself) and chunk
i of a turn from ``chunk_seed(turn seed, i)``, so the same input and seed give the same audio, and a
single-voice job's chunk i gets ``chunk_seed(seed, i)`` as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE
from ..context import WorkerContext
from ..engines.f5 import SynthesisParams, chunk_seed
from ..errors import InvalidInput
from ..media.chunking import check_model_limits, chunk_budget, split_text
from ..media.dialogue import DialogueSegment
from ..media.text_normalize import normalize_english
from ..metrics import timed
from ..schemas import TtsRequest
from ..timing.aligner import spoken_token_map
from .tts_dialogue import requested_segments, resolve_voice


@dataclass(frozen=True)
class Pause:
    """Silence the joiner is given between two pieces of speech: ``samples`` of it hold no voice (the
    neighbours' cross-fades run into it on both sides)."""

    samples: int
    spoken: str = ""  # a pause says nothing (the joiner's span text)


@dataclass(frozen=True)
class PlannedChunk:
    """One model call: ``spoken`` said in turn ``turn``'s voice."""

    turn: int  # index into SpeechPlan.turns
    index: int  # position among its turn's chunks (its seed)
    spoken: str  # what the model is given (normalised text)
    typed: str  # the caller's words it stands for (each typed word in the chunk of its first spoken word)
    duration_s: float | None = None  # fix_duration's share (reference included); None: the model's estimate


@dataclass(eq=False)
class Turn:
    """One voice's stretch of the job: who speaks, in which voice, with which synthesis settings."""

    speaker: str
    ref_audio: np.ndarray  # prepared reference, 24 kHz mono float32
    ref_text: str
    text: str  # what the caller wrote for this turn (the known text of its words)
    spoken: str  # the turn's text as spoken
    params: SynthesisParams

    @property
    def ref_seconds(self) -> float:
        return len(self.ref_audio) / F5_SAMPLE_RATE


Piece = PlannedChunk | Pause


@dataclass(eq=False)
class SpeechPlan:
    turns: list[Turn]
    pieces: list[Piece]  # what the joiner is given, in order (one ChunkSpan each)
    voice_info: dict  # what the output reports under "voice"
    multi_voice: bool  # speaker labels, dialogue params

    @property
    def chunks(self) -> list[PlannedChunk]:
        return [piece for piece in self.pieces if isinstance(piece, PlannedChunk)]

    @property
    def spoken_text(self) -> str:
        return " ".join(turn.spoken for turn in self.turns)

    @property
    def known_text(self) -> str:
        return " ".join(turn.text for turn in self.turns)

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(turn.speaker for turn in self.turns))

    @property
    def piece_speakers(self) -> list[str | None]:
        """The speaker of each piece the joiner sees, in order (None: a pause)."""
        return [self.turns[piece.turn].speaker if isinstance(piece, PlannedChunk) else None for piece in self.pieces]

    def turn_chunks(self, turn: int) -> list[PlannedChunk]:
        return [chunk for chunk in self.chunks if chunk.turn == turn]

    def seed_of(self, chunk: PlannedChunk, seed: int) -> int:
        """The torch seed of one chunk's first take (see the module docstring)."""
        turn_seed = seed if chunk.turn == 0 else chunk_seed(seed, chunk.turn)
        return chunk_seed(turn_seed, chunk.index)


def synthesis_params(request: TtsRequest) -> SynthesisParams:
    """The request's model settings, built once (a turn may change only its speed)."""
    return SynthesisParams(
        nfe_step=request.nfe_step,
        cfg_strength=request.cfg_strength,
        sway_sampling_coef=request.sway_sampling_coef,
        target_rms=request.target_rms,
        speed=request.speed,
    )


def typed_per_chunk(text: str, chunks: list[str]) -> list[str]:
    """The caller's words of each chunk: each typed word goes with the chunk of its first spoken word
    (a word that says nothing, '—', with the word before it), as the chunk timer assigns them."""
    tokens = text.split()
    spoken = [token for chunk in chunks for token in chunk.split()]
    chunk_of = [index for index, chunk in enumerate(chunks) for _ in chunk.split()]
    owners: list[int] = []
    for indices in spoken_token_map(tokens, spoken):
        owners.append(chunk_of[indices[0]] if indices and chunk_of else (owners[-1] if owners else 0))
    pairs = list(zip(tokens, owners, strict=True))
    return [" ".join(token for token, owner in pairs if owner == index) for index in range(len(chunks))]


def _chunk_turn(request: TtsRequest, position: int, turn: Turn, fix_duration: float | None) -> list[PlannedChunk]:
    """The turn's spoken text cut to its reference's chunk budget, checked against what F5-TTS can take."""
    chunks = split_text(turn.spoken, chunk_budget(turn.ref_text, turn.ref_seconds, turn.params.speed))
    durations = check_model_limits(
        chunks, len(turn.ref_audio), turn.ref_text, turn.params.speed, fix_duration, request.cross_fade_duration
    )
    typed = typed_per_chunk(turn.text, chunks)
    return [
        PlannedChunk(position, index, chunk, typed[index], duration)
        for index, (chunk, duration) in enumerate(zip(chunks, durations, strict=True))
    ]


def plan_speech(request: TtsRequest, ctx: WorkerContext, spoken: str, metrics: dict) -> SpeechPlan:
    """Voices resolved once each (``reference_ms``), then every turn normalised and chunked
    (``normalize_ms``); refuses what cannot be synthesised. ``spoken``: the whole text as spoken,
    already made by the job's checks (a single-voice job's one turn)."""
    multi_voice = request.is_multi_voice
    if multi_voice and request.fix_duration is not None:
        raise InvalidInput("fix_duration: not supported for multi-voice jobs (each turn takes its own time)")
    segments = requested_segments(request) if multi_voice else [DialogueSegment(None, request.text or "")]
    base = synthesis_params(request)
    with timed(metrics, "reference_ms"):
        voices: dict[str | None, tuple[str, np.ndarray, str, dict]] = {}
        for position, segment in enumerate(segments):
            if segment.voice not in voices:
                voices[segment.voice] = resolve_voice(segment, position, request, ctx)
    with timed(metrics, "normalize_ms"):
        turns: list[Turn] = []
        pieces: list[Piece] = []
        pause = round((request.segment_pause_s or 0.0) * F5_SAMPLE_RATE)
        for position, segment in enumerate(segments):
            speaker, samples, ref_text, _info = voices[segment.voice]
            if multi_voice:
                said = normalize_english(segment.text) if request.normalize_text else segment.text
            else:
                said = spoken
            params = replace(base, speed=segment.speed or request.speed)
            turn = Turn(speaker, samples, ref_text, segment.text, said, params)
            chunks = _chunk_turn(request, position, turn, None if multi_voice else request.fix_duration)
            if multi_voice:  # a turn's spoken text as its chunks say it (whitespace made single)
                turn.spoken = " ".join(chunk.spoken for chunk in chunks)
            turns.append(turn)
            if position and pause:
                pieces.append(Pause(pause))
            pieces += chunks
    if not multi_voice:
        return SpeechPlan(turns, pieces, voices[None][3], multi_voice)
    info: dict = {"voice": None, "voices": {speaker: voice_info for speaker, _, _, voice_info in voices.values()}}
    info["speakers"] = list(dict.fromkeys(turn.speaker for turn in turns))
    info["turns"] = len(turns)
    return SpeechPlan(turns, pieces, info, multi_voice)
