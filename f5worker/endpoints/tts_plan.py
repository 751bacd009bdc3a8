"""What a ``tts`` job will say, decided before any synthesis: the speech plan (turns -> chunks).

Every job is a dialogue: a single-voice job is one turn spoken by the job's ``voice``/``ref_audio``;
a multi-voice job (``segments`` or ``[voice]``-tagged text, see :mod:`.tts_dialogue`) has one turn per
segment. Each turn is normalised and cut into chunks against its own reference's pace
(:mod:`f5worker.media.chunking` holds the limits and the splitting rule), and the plan lists what the
cross-fade joiner is given, in order: chunks, the pauses between turns (``segment_pause_s``), and the
exact pauses of ``[pause 1.5s]`` tags inside a turn (:mod:`f5worker.media.pauses`). A turn's words are
read with its pronunciations (:mod:`.speech_directions`) before numbers are spelt out.

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
from ..media.pauses import Pause as PauseTag
from ..media.pauses import split_pauses
from ..media.pronunciations import Lexicon
from ..media.text_normalize import normalize_english
from ..metrics import timed
from ..schemas import TtsRequest
from ..timing.aligner import Respell, spoken_token_map
from .speech_directions import turn_lexicon, turn_speed
from .tts_dialogue import requested_segments, resolve_voice


@dataclass(frozen=True)
class Pause:
    """Silence the joiner is given between two pieces of speech: ``samples`` of it hold no voice (the
    neighbours' cross-fades run into it on both sides)."""

    samples: int
    spoken: str = ""  # a pause says nothing (the joiner's span text)
    exact: bool = False  # a pause tag: exactly ``samples`` of silence, no cross-fade on either side


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


PlanPiece = PlannedChunk | Pause  # what the joiner is given: speech or silence


@dataclass(eq=False)
class SpeechPlan:
    """A job's speech: its turns (voices and settings) and the pieces the joiner is given, in order."""

    turns: list[Turn]
    pieces: list[PlanPiece]  # what the joiner is given, in order (one ChunkSpan each)
    voice_info: dict  # what the output reports under "voice"
    multi_voice: bool  # speaker labels, dialogue params
    lexicon: Lexicon | None = None  # how typed words are read (the turns' pronunciations, for timing)
    pronunciations_used: list[str] | None = None  # the entries that applied, in order of first use

    @property
    def pauses(self) -> list[Pause]:
        """The exact pauses of pause tags, in order."""
        return [piece for piece in self.pieces if isinstance(piece, Pause) and piece.exact]

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

    def chunk_token_offsets(self) -> list[int] | None:
        """Where each chunk's typed words begin among the known text's words (None: they do not tile it)."""
        offsets, first = [], 0
        known = self.known_text.split()
        for chunk in self.chunks:
            typed = chunk.typed.split()
            if known[first : first + len(typed)] != typed:
                return None
            offsets.append(first)
            first += len(typed)
        return offsets if first == len(known) else None

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


def typed_per_chunk(text: str, chunks: list[str], respell: Respell = None) -> list[str]:
    """The caller's words of each chunk: each typed word goes with the chunk of its first spoken word
    (a word that says nothing, '—', with the word before it), as the chunk timer assigns them."""
    tokens = text.split()
    spoken = [token for chunk in chunks for token in chunk.split()]
    chunk_of = [index for index, chunk in enumerate(chunks) for _ in chunk.split()]
    owners: list[int] = []
    for indices in spoken_token_map(tokens, spoken, respell):
        owners.append(chunk_of[indices[0]] if indices and chunk_of else (owners[-1] if owners else 0))
    pairs = list(zip(tokens, owners, strict=True))
    return [" ".join(token for token, owner in pairs if owner == index) for index in range(len(chunks))]


def _chunk_turn(
    request: TtsRequest,
    position: int,
    turn: Turn,
    fix_duration: float | None,
    target_s: float,
    typed: str,
    spoken: str,
    first: int = 0,
    lexicon: Lexicon | None = None,
) -> list[PlannedChunk]:
    """A stretch of the turn (all of it, or the words between two pause tags) cut to its reference's
    chunk budget, checked against what F5-TTS can take; chunk indices go on from ``first``."""
    chunks = split_text(spoken, chunk_budget(turn.ref_text, turn.ref_seconds, turn.params.speed, target_s))
    durations = check_model_limits(
        chunks, len(turn.ref_audio), turn.ref_text, turn.params.speed, fix_duration, request.cross_fade_duration
    )
    owned = typed_per_chunk(typed, chunks, lexicon.say if lexicon else None)
    return [
        PlannedChunk(position, first + index, chunk, owned[index], duration)
        for index, (chunk, duration) in enumerate(zip(chunks, durations, strict=True))
    ]


def said(text: str, normalize: bool, lexicon: Lexicon | None) -> str:
    """Typed words as the model is to say them: pronunciations first, then numbers spelt out."""
    respelled = lexicon.say(text) if lexicon else text
    return normalize_english(respelled) if normalize else respelled


def _plan_turn(
    request: TtsRequest, position: int, turn: Turn, field: str, lexicon: Lexicon | None, whole: bool, target_s: float
) -> list[PlanPiece]:
    """A turn's pieces: its chunks, with an exact pause wherever its text has a pause tag. ``whole``:
    the turn's text (no tags) as spoken was made already (a single voice's, by the job's checks)."""
    items = split_pauses(turn.text, field)
    fix_duration = None if request.is_multi_voice else request.fix_duration
    if whole and items == [turn.text]:
        return list(_chunk_turn(request, position, turn, fix_duration, target_s, turn.text, turn.spoken, 0, lexicon))
    pieces: list[PlanPiece] = []
    count = 0
    for item in items:
        if isinstance(item, PauseTag):
            pieces.append(Pause(round(item.seconds * F5_SAMPLE_RATE), exact=True))
            continue
        spoken = said(item, request.normalize_text, lexicon)
        chunks = _chunk_turn(request, position, turn, fix_duration, target_s, item, spoken, count, lexicon)
        count += len(chunks)
        pieces += chunks
    chunks_of_turn = [piece for piece in pieces if isinstance(piece, PlannedChunk)]
    if not chunks_of_turn:
        raise InvalidInput(f"{field}: contains no words to speak besides its pause tags")
    turn.text = " ".join(chunk.typed for chunk in chunks_of_turn)  # the typed words, tags left out
    turn.spoken = " ".join(chunk.spoken for chunk in chunks_of_turn)
    return pieces


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
        pieces: list[PlanPiece] = []
        lexicons: dict[str | None, Lexicon | None] = {}
        used: list[str] = []
        pause = round((request.segment_pause_s or 0.0) * F5_SAMPLE_RATE)
        for position, segment in enumerate(segments):
            speaker, samples, ref_text, _info = voices[segment.voice]
            lexicon = turn_lexicon(ctx, request, segment.voice or request.voice, lexicons)
            if multi_voice:
                text_field = "text" if request.segments is None else f"segments.{position}.text"
                whole = None
            else:
                text_field = "text"
                whole = spoken if lexicon is None else said(segment.text, request.normalize_text, lexicon)
            params = replace(base, speed=turn_speed(ctx, request, segment.speed, segment.voice))
            turn = Turn(speaker, samples, ref_text, segment.text, whole or "", params)
            target_s = ctx.settings.chunk_target_s
            turn_pieces = _plan_turn(request, position, turn, text_field, lexicon, whole is not None, target_s)
            turns.append(turn)
            if position and pause:
                pieces.append(Pause(pause))
            pieces += turn_pieces
            used += lexicon.used(turn.text) if lexicon else []
        plan_lexicon = _union([lexicon for lexicon in lexicons.values() if lexicon])
        check_spoken_length(turns, plan_lexicon, ctx.settings.max_text_chars)
    if not multi_voice:
        return SpeechPlan(turns, pieces, voices[None][3], multi_voice, plan_lexicon, list(dict.fromkeys(used)))
    info: dict = {"voice": None, "voices": {speaker: voice_info for speaker, _, _, voice_info in voices.values()}}
    info["speakers"] = list(dict.fromkeys(turn.speaker for turn in turns))
    info["turns"] = len(turns)
    return SpeechPlan(turns, pieces, info, multi_voice, plan_lexicon, list(dict.fromkeys(used)))


def _union(lexicons: list[Lexicon]) -> Lexicon | None:
    """One lexicon for the job's word timing: every turn's entries (the job's own win in each already)."""
    if len(lexicons) <= 1:
        return lexicons[0] if lexicons else None
    entries: dict[str, str] = {}
    for lexicon in lexicons:
        entries.update(lexicon.entries)
    return Lexicon(entries)


def check_spoken_length(turns: list[Turn], lexicon: Lexicon | None, limit: int) -> None:
    """Respellings can make a text longer: as spoken it must stay within MAX_TEXT_CHARS too."""
    length = sum(len(turn.spoken) for turn in turns)
    if lexicon is not None and length > limit:
        raise InvalidInput(
            f"pronunciations: read with its pronunciations the text is {length} characters, over the "
            f"{limit}-character limit (MAX_TEXT_CHARS); shorten the text or the respellings"
        )
