"""Multi-voice ``tts``: voice turns from ``segments`` or ``[voice]``-tagged text, speaker-labelled words.

What is particular to dialogue, on both sides of the speech plan (:mod:`.tts_plan`, where every job,
a single voice included, is turns of chunks): the requested turns and their voices (each distinct
voice resolved once per job, through the same caches as single-voice jobs), and the speaker labels
and caption options of the output. All chunks of all turns go through one cross-fade joiner
(:mod:`.tts_speech`), so turns join with the cross-fade exactly as chunks do; with
``segment_pause_s`` a silence sits between turns, and ``segment_pause_s`` seconds of it hold no voice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE
from ..context import WorkerContext
from ..errors import InvalidInput, NotFound
from ..media.dialogue import DialogueSegment, parse_tagged_text
from ..media.subtitles import SpeakerOptions
from ..schemas import TtsRequest
from ..words import Word
from .voice_reference import check_reference_text, load_reference, stored_voice

# Request fields of multi-voice jobs: in a job's params only when the job is one.
DIALOGUE_FIELDS = ("segments", "segment_pause_s", "speaker_labels", "speaker_colors")


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


def resolve_voice(
    segment: DialogueSegment, position: int, request: TtsRequest, ctx: WorkerContext
) -> tuple[str, np.ndarray, str, dict]:
    """(speaker, samples, ref_text, voice info) of one voice: a segment's stored voice, or the job's own
    ``voice``/``ref_audio`` (a single-voice job's one turn, or a segment without a voice)."""
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


def dialogue_params(request: TtsRequest, turns: list[dict]) -> dict:
    """What a multi-voice job reports in ``params`` (the texts stay out, as ``text`` does); ``turns``:
    each turn's speaker, chunk count and speed."""
    return {
        "segment_pause_s": request.segment_pause_s,
        "speaker_labels": request.speaker_labels is not False,
        "speaker_colors": request.speaker_colors,
        "turns": turns,
    }


def speaker_options(request: TtsRequest, speakers: list[str] | None) -> SpeakerOptions | None:
    """Speaker rendering for the timing files of a multi-voice job; None for a single voice."""
    if speakers is None:
        return None
    return SpeakerOptions(
        speakers=speakers,
        label_changes=request.speaker_labels is not False,
        colors=dict(request.speaker_colors or {}),
    )
