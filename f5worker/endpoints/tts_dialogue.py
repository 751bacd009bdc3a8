"""Multi-voice ``tts``: voice turns from ``segments`` or ``[voice]``-tagged text, one audio, speaker-labelled words.

Each distinct voice is resolved once per job (the voice cache and the decoded-voice memory cache, as
for single-voice jobs); each turn is normalised and chunked against its own reference's pace, and all
chunks go through one cross-fade joiner, so turns join with the cross-fade exactly as chunks do. With
``segment_pause_s`` a silence sits between turns: each voice fades out into it and the next fades in
from it, and ``segment_pause_s`` seconds in the middle hold neither voice.
Turn k's chunks are seeded from ``chunk_seed(seed, k)`` (turn 0 from ``seed`` itself), so the same
input and seed give the same audio.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE
from ..captions.options import SpeakerOptions
from ..context import WorkerContext
from ..engines.f5 import ChunkSpan, CrossFadeJoiner, PieceListener, chunk_seed
from ..errors import InvalidInput, NotFound
from ..media.chunking import chunk_budget, split_text
from ..media.dialogue import DialogueSegment, parse_tagged_text
from ..media.text_normalize import normalize_english
from ..schemas import TtsRequest
from ..words import Word
from .limits import check_model_limits
from .voice_reference import check_reference_text, load_reference, stored_voice

# Request fields of multi-voice jobs: in a job's params only when the job is one.
DIALOGUE_FIELDS = ("segments", "segment_pause_s", "speaker_labels", "speaker_colors")


@dataclass
class VoiceTurn:
    speaker: str
    ref_audio: np.ndarray
    ref_text: str
    chunks: list[str]
    speed: float
    text: str  # what the caller wrote for this turn (known text for timing)


@dataclass
class DialoguePlan:
    turns: list[VoiceTurn]
    voice_info: dict
    pause_samples: int = 0
    ranges: list[tuple[float, float, str]] = field(default_factory=list)  # (start_s, end_s, speaker) of each turn

    @property
    def chunk_count(self) -> int:
        return sum(len(turn.chunks) for turn in self.turns)

    @property
    def item_count(self) -> int:
        """Chunks plus the silences between turns: what the joiner (and a stream) sees."""
        return self.chunk_count + (len(self.turns) - 1 if self.pause_samples else 0)

    @property
    def span_speakers(self) -> list[str | None]:
        """The speaker of each piece the joiner sees, in order (None: the silence between two turns)."""
        speakers: list[str | None] = []
        for index, turn in enumerate(self.turns):
            if index and self.pause_samples:
                speakers.append(None)
            speakers += [turn.speaker] * len(turn.chunks)
        return speakers

    @property
    def spoken_text(self) -> str:
        return " ".join(" ".join(turn.chunks) for turn in self.turns)

    @property
    def known_text(self) -> str:
        return " ".join(turn.text for turn in self.turns)

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(turn.speaker for turn in self.turns))


def requested_segments(request: TtsRequest) -> list[DialogueSegment]:
    if request.segments is not None:
        return [DialogueSegment(seg.voice, " ".join(seg.text.split()), seg.speed) for seg in request.segments]
    segments = parse_tagged_text(request.text or "")
    if not segments:
        raise InvalidInput("text: contains no words to speak after its voice tags")
    return segments


def _stored_voice(name: str, ctx: WorkerContext, field_name: str) -> tuple[np.ndarray, str]:
    """A stored voice's prepared audio and reference text (transcribed and saved once when missing)."""
    _, samples, ref_text, _ = stored_voice(ctx, name)
    check_reference_text(ref_text, len(samples) / F5_SAMPLE_RATE, field_name)
    return samples, ref_text


def _resolve(segment: DialogueSegment, position: int, request: TtsRequest, ctx: WorkerContext):
    """(speaker, samples, ref_text, voice info) of one voice."""
    tagged = request.segments is None
    if segment.voice is None:
        if request.voice is None and request.ref_audio is None:
            raise InvalidInput(f"segments.{position}.voice: required (the job has no 'voice' or 'ref_audio')")
        samples, ref_text, info = load_reference(request, ctx)
        check_reference_text(ref_text, len(samples) / F5_SAMPLE_RATE, "ref_text" if request.ref_text else "voice")
        return request.voice or "voice", samples, ref_text, info
    field_name = "text" if tagged else f"segments.{position}.voice"
    try:
        samples, ref_text = _stored_voice(segment.voice, ctx, field_name)
    except NotFound:
        if tagged:
            raise InvalidInput(
                f"text: unknown voice tag [{segment.voice}]: no stored voice by that name "
                "(the voices endpoint lists them)"
            ) from None
        raise NotFound(f"{field_name}: no stored voice named {segment.voice!r}") from None
    info = {"voice": segment.voice, "ref_text": ref_text, "ref_duration_s": round(len(samples) / F5_SAMPLE_RATE, 3)}
    return segment.voice, samples, ref_text, info


def plan_dialogue(request: TtsRequest, ctx: WorkerContext) -> DialoguePlan:
    """Voices resolved once each, turns normalised and chunked; refuses what cannot be synthesised."""
    if request.fix_duration is not None:
        raise InvalidInput("fix_duration: not supported for multi-voice jobs (each turn takes its own time)")
    segments = requested_segments(request)
    voices: dict[str | None, tuple[str, np.ndarray, str]] = {}
    info: dict = {"voice": None, "voices": {}}
    for position, segment in enumerate(segments):
        if segment.voice not in voices:
            speaker, samples, ref_text, voice_info = _resolve(segment, position, request, ctx)
            voices[segment.voice] = (speaker, samples, ref_text)
            info["voices"][speaker] = voice_info
    turns = []
    for segment in segments:
        speaker, samples, ref_text = voices[segment.voice]
        speed = segment.speed or request.speed
        spoken = normalize_english(segment.text) if request.normalize_text else segment.text
        ref_seconds = len(samples) / F5_SAMPLE_RATE
        chunks = split_text(spoken, chunk_budget(ref_text, ref_seconds, speed))
        check_model_limits(request.model_copy(update={"speed": speed}), ref_seconds, ref_text, chunks)
        turns.append(VoiceTurn(speaker, samples, ref_text, chunks, speed, segment.text))
    info["speakers"] = list(dict.fromkeys(turn.speaker for turn in turns))
    info["turns"] = len(turns)
    pause = round((request.segment_pause_s or 0.0) * F5_SAMPLE_RATE)
    return DialoguePlan(turns, info, pause_samples=pause)


def synthesize_dialogue(
    engine,
    plan: DialoguePlan,
    request: TtsRequest,
    seed: int,
    on_chunk: Callable[[int, int], None],
    on_piece: PieceListener,
) -> tuple[np.ndarray, list[ChunkSpan]]:
    """All turns through one joiner: the audio and each piece's ``ChunkSpan`` (pauses have no text);
    fills ``plan.ranges`` with where each turn lies in the audio."""
    joiner = CrossFadeJoiner(round(request.cross_fade_duration * F5_SAMPLE_RATE))
    pieces: list[np.ndarray] = []
    done = 0
    total = plan.chunk_count
    settings = {
        "nfe_step": request.nfe_step,
        "cfg_strength": request.cfg_strength,
        "sway_sampling_coef": request.sway_sampling_coef,
        "target_rms": request.target_rms,
    }

    def push(wave: np.ndarray, text: str) -> None:
        pieces.append(joiner.push(wave, text))
        on_piece(pieces[-1], joiner.spans[-1], False)

    turn_spans: list[tuple[int, int, str]] = []  # (first span index, last span index, speaker)
    for index, turn in enumerate(plan.turns):
        if index and plan.pause_samples:  # the fades run into the silence: segment_pause_s is heard with no voice
            push(np.zeros(plan.pause_samples + 2 * joiner.fade_samples, dtype=np.float32), "")
        first = len(joiner.spans)

        def progress(_done: int, _total: int) -> None:
            nonlocal done
            done += 1
            on_chunk(done, total)

        waves = engine.iter_chunks(
            ref_audio=turn.ref_audio,
            ref_text=turn.ref_text,
            chunks=turn.chunks,
            cross_fade_duration=request.cross_fade_duration,
            speed=turn.speed,
            seed=seed if index == 0 else chunk_seed(seed, index),
            fix_duration=None,
            on_chunk=progress,
            **settings,
        )
        with contextlib.closing(waves):
            for text, wave in waves:
                push(wave, text)
        turn_spans.append((first, len(joiner.spans) - 1, turn.speaker))
    pieces.append(joiner.finish())
    on_piece(pieces[-1], joiner.spans[-1], True)
    spans = joiner.spans
    plan.ranges = [
        (spans[first].start / F5_SAMPLE_RATE, spans[last].end / F5_SAMPLE_RATE, speaker)
        for first, last, speaker in turn_spans
    ]
    return np.concatenate(pieces).astype(np.float32, copy=False), spans


def label_speakers(words: Sequence[Word], ranges: Sequence[tuple[float, float, str]]) -> list[Word]:
    """Each word gets the speaker of the turn its middle falls in (the nearest turn in a pause);
    words already labelled (aligned chunk by chunk, each chunk knows its voice) keep theirs."""
    labelled = []
    for word in words:
        if word.speaker is not None:
            labelled.append(word)
            continue
        middle = (word.start + word.end) / 2

        def distance(item: tuple[float, float, str], middle: float = middle) -> float:
            start, end, _speaker = item
            return 0.0 if start <= middle < end else min(abs(middle - start), abs(middle - end))

        speaker = min(ranges, key=distance)[2] if ranges else None
        labelled.append(word.model_copy(update={"speaker": speaker}))
    return labelled


def dialogue_params(request: TtsRequest, plan: DialoguePlan) -> dict:
    """What a multi-voice job reports in ``params`` (the texts stay out, as ``text`` does)."""
    turns = [{"speaker": turn.speaker, "chunks": len(turn.chunks), "speed": turn.speed} for turn in plan.turns]
    return {
        "segment_pause_s": request.segment_pause_s,
        "speaker_labels": request.speaker_labels is not False,
        "speaker_colors": request.speaker_colors,
        "turns": turns,
    }


def speaker_options(request: TtsRequest, plan: DialoguePlan | None) -> SpeakerOptions | None:
    """Speaker rendering for the timing files of a multi-voice job; None for a single voice."""
    if plan is None:
        return None
    return SpeakerOptions(
        speakers=plan.speakers,
        label_changes=request.speaker_labels is not False,
        colors=dict(request.speaker_colors or {}),
    )
