"""``stt``: speech to text with word times and timing files, or times for a known transcript."""

from __future__ import annotations

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..context import WorkerContext
from ..media.audio import decode_audio
from ..media.sources import read_audio_source
from ..metrics import timed
from ..schemas import SttRequest
from ..storage.results import save_result
from ..timing.engine_choice import run_timing
from ..timing.script_check import ScriptCheck, check_script
from ..timing.transcript import Segment, Transcript, segments_by_sentence
from .delivery import resolve_delivery
from .limits import InlineBudget, check_response_size, require_timing_engine
from .speech_directions import job_lexicon
from .timing_files import store_timing_files

PROGRESS_MIN_S = 30.0  # shorter jobs finish before a progress update would tell anyone anything


def segment_output(segment: Segment) -> dict:
    """A segment with whole-millisecond times, like its words and the timing files (no 30.159999999999997)."""
    return {**segment.as_output(), "start": round(segment.start, 3), "end": round(segment.end, 3)}


def with_check_confidence(words: list, check: ScriptCheck) -> list:
    """The text's words with the script check's confidence (0..1: was this word said?) instead of None."""
    confidences = check.token_confidences(len(words))
    return [
        word if confidence is None else word.model_copy(update={"confidence": round(confidence, 3)})
        for word, confidence in zip(words, confidences, strict=True)
    ]


def engine_output(transcript: Transcript) -> dict:
    """Which engine ran and how: ``timing`` names the ``timing_engine`` that timed the words (``auto``
    resolved), ``alignment`` how recognised words were force-aligned (stt without ``text``)."""
    output = transcript.engine_output()
    if transcript.timing is not None:
        output["timing"] = transcript.timing
    if transcript.alignment is not None:
        output["alignment"] = transcript.alignment
    return output


def run(request: SttRequest, ctx: WorkerContext, job_id: str) -> dict:
    times: dict[str, float] = {}
    with timed(times, "total_ms"):
        with timed(times, "decode_ms"):  # the checks and fetching the audio count as decoding
            delivery = resolve_delivery(request.delivery, ctx)
            require_timing_engine(ctx, request.timing_engine)
            lexicon = job_lexicon(ctx, request.pronunciations, request.lexicon)
            raw = read_audio_source(request.audio, "audio", ctx.settings, ctx.storage)
            audio = decode_audio(raw, SPEECH_SAMPLE_RATE, ctx.settings.max_audio_s, field="audio")
        duration_s = round(len(audio) / SPEECH_SAMPLE_RATE, 3)

        long_job = duration_s >= PROGRESS_MIN_S
        if long_job:
            ctx.signals.report({"stage": "transcribe", "audio_s": duration_s})
        transcript = run_timing(
            ctx.engines,
            audio,
            choice=request.timing_engine,
            language=request.language,
            known_text=request.text,
            respell=lexicon.say if lexicon else None,
        )
        words = transcript.words
        check, segments = None, transcript.segments
        if request.verify:
            if long_job:
                ctx.signals.report({"stage": "verify", "words": len(words)})
            with timed(times, "verify_ms"):
                check = check_script(ctx.engines, audio, request.text, request.language)
            words = with_check_confidence(words, check)
            segments = segments_by_sentence(words)
        if long_job:
            ctx.signals.report({"stage": "files", "words": len(words)})
        with timed(times, "files_ms"):
            options, budget = request.caption_options(), InlineBudget(ctx)
            files = store_timing_files(ctx, job_id, words, request.timing_formats, options, delivery, budget=budget)
    total_ms = times["total_ms"]
    output = {
        "job_id": job_id,
        "text": transcript.text,
        "language": transcript.language,
        "duration_s": duration_s,
        "segments": [segment_output(segment) for segment in segments],
        "words": [word.model_dump() for word in words],
        "engine": engine_output(transcript),
        "files": files,
        **({"script_check": check.as_output()} if check is not None else {}),
        "metrics": {
            "decode_ms": times["decode_ms"],
            "transcribe_ms": transcript.timings_ms.get("transcribe"),
            "align_ms": transcript.timings_ms.get("align"),
            "known_text_ms": transcript.timings_ms.get("known_text"),
            "verify_ms": times.get("verify_ms"),
            "files_ms": times["files_ms"],
            "total_ms": total_ms,
            "real_time_factor": round(total_ms / 1000 / duration_s, 4) if duration_s else None,
        },
    }
    check_response_size(output, ctx, "audio")
    save_result(ctx.storage, job_id, "stt", output)
    return output
