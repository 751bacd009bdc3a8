"""Word-level timing files (SRT, WebVTT, ASS, CSV, JSON) built from one shared caption grouping.

Every format is rendered from the same sanitised words and the same captions, so a video burnt
with the ASS file and a player showing the SRT file change captions at exactly the same moments.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import pysubs2
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

TIMING_FORMATS: tuple[str, ...] = ("srt", "vtt", "ass", "csv", "json")

CONTENT_TYPES: dict[str, str] = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "ass": "text/x-ssa",
    "csv": "text/csv",
    "json": "application/json",
}

SENTENCE_END_CHARS = ".!?…"
CLAUSE_END_CHARS = ",;:—–"
# Closing quotes and brackets may follow the punctuation that really ends the sentence or clause.
CLOSING_CHARS = "\"'”’»)]}›"

ASS_PLAY_RES = (1920, 1080)
ASS_STYLE_NAME = "Default"


class Word(BaseModel):
    """One timed word as produced by a recogniser or forced aligner."""

    word: str = Field(description="The word as spoken, punctuation included (e.g. 'Hello,').")
    start: float = Field(description="Start time in seconds.")
    end: float = Field(description="End time in seconds.")
    confidence: float | None = Field(default=None, description="Recogniser confidence, if known.")
    speaker: str | None = Field(default=None, description="Who says it (multi-voice jobs); left out when None.")

    @model_serializer(mode="wrap")
    def _without_unknown_speaker(self, handler: SerializerFunctionWrapHandler) -> dict:
        """Single-voice words serialise exactly as before speakers existed."""
        data = handler(self)
        if data.get("speaker") is None:
            data.pop("speaker", None)
        return data


class CaptionOptions(BaseModel):
    """How words are grouped into captions; arrives as JSON, so unknown or mistyped fields fail."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_chars_per_line: int = Field(
        default=42, ge=10, le=200,
        description="Most characters on one caption line; a longer single word sits alone.",
    )  # fmt: skip
    max_lines: int = Field(default=2, ge=1, le=4, description="Most lines in one caption.")
    max_caption_s: float = Field(
        default=7.0, ge=0.5, le=60,
        description="Longest time one caption stays on screen, in seconds; a longer single word "
        "becomes its own caption.",
    )  # fmt: skip
    pause_split_s: float = Field(
        default=0.5, ge=0.05, le=10,
        description="A silence longer than this many seconds between words always starts a new caption.",
    )  # fmt: skip
    karaoke: bool = Field(
        default=False,
        description="ASS only: add \\k tags so each word is highlighted as it is spoken.",
    )


# Distinct, readable on video (white is the single-voice colour): gold, sky blue, light green, salmon, ...
SPEAKER_COLOURS = ("#FFD700", "#66CCFF", "#90EE90", "#FF9980", "#DDA0DD", "#FFA500", "#40E0D0", "#F0E68C")


@dataclass(frozen=True)
class SpeakerOptions:
    """How a multi-voice job's speakers show: SRT name prefixes at speaker changes, ASS colours per speaker."""

    speakers: list[str]
    label_changes: bool = True
    colors: dict[str, str] = field(default_factory=dict)  # speaker -> '#RRGGBB'


@dataclass(frozen=True)
class Caption:
    """One on-screen caption: a contiguous run of words, wrapped into lines."""

    index: int
    start: float
    end: float
    lines: list[str]
    words: list[Word]
    speaker: str | None = None


@dataclass(frozen=True)
class _Limits:
    """Caption limits in integer units, so comparisons never suffer float rounding."""

    max_chars: int
    max_lines: int
    max_ms: int
    pause_ms: int


# --------------------------------------------------------------------------- sanitising


def _to_ms(seconds: float) -> int:
    """Whole milliseconds: the one resolution every format can represent."""
    return round(seconds * 1000)


def _clean_text(text: str) -> str:
    """Single-spaced NFC text without control characters, so line lengths and cue text are safe."""
    collapsed = " ".join(unicodedata.normalize("NFC", text).split())
    return "".join(ch for ch in collapsed if unicodedata.category(ch) != "Cc")


def _finite_or(value: float | None, fallback: float) -> float:
    """Recognisers occasionally emit NaN or infinity; treat those as 'no information'."""
    if value is None or not math.isfinite(value):
        return fallback
    return value


def _clean_confidence(confidence: float | None) -> float | None:
    """NaN is not valid JSON, so a non-finite confidence becomes unknown."""
    if confidence is None or not math.isfinite(confidence):
        return None
    return confidence


def _monotonic_starts(words: Sequence[Word]) -> list[int]:
    """Start times in ms that are never negative and never decrease."""
    starts: list[int] = []
    previous = 0
    for word in words:
        start = max(previous, _to_ms(_finite_or(word.start, previous / 1000)))
        starts.append(start)
        previous = start
    return starts


def _bounded_ends(words: Sequence[Word], starts: Sequence[int]) -> list[int]:
    """End times in ms that are at least the start and never run into the next word."""
    ends: list[int] = []
    for position, word in enumerate(words):
        start = starts[position]
        end = max(start, _to_ms(_finite_or(word.end, start / 1000)))
        if position + 1 < len(starts):
            end = min(end, starts[position + 1])
        ends.append(end)
    return ends


def sanitize_words(words: Iterable[Word | dict]) -> list[Word]:
    """Make recogniser output safe to caption: non-empty text, ordered, non-overlapping ms times."""
    kept: list[Word] = []
    for item in words:
        word = item if isinstance(item, Word) else Word.model_validate(item)
        text = _clean_text(word.word)
        if text:
            kept.append(word.model_copy(update={"word": text}))
    starts = _monotonic_starts(kept)
    ends = _bounded_ends(kept, starts)
    return [
        Word(word=word.word, start=start / 1000, end=end / 1000,
             confidence=_clean_confidence(word.confidence), speaker=word.speaker)
        for word, start, end in zip(kept, starts, ends, strict=True)
    ]  # fmt: skip


# --------------------------------------------------------------------------- line wrapping


def _joined_length(texts: Sequence[str]) -> int:
    """Length of the texts joined by single spaces, without building the string."""
    return sum(len(text) for text in texts) + max(len(texts) - 1, 0)


def _wrap_greedy(texts: Sequence[str], width: int) -> list[list[str]]:
    """Fill each line as far as it goes; this uses the fewest lines possible for the width."""
    lines: list[list[str]] = []
    current: list[str] = []
    length = 0
    for text in texts:
        if current and length + 1 + len(text) > width:
            lines.append(current)
            current, length = [], 0
        length = len(text) if not current else length + 1 + len(text)
        current.append(text)
    if current:
        lines.append(current)
    return lines


def _wrap_balanced(texts: Sequence[str], max_chars: int) -> list[str]:
    """Fewest lines, then the narrowest width that keeps that count, so lines come out even."""
    if not texts:
        return []
    line_count = len(_wrap_greedy(texts, max_chars))
    fitting = [len(text) for text in texts if len(text) <= max_chars]
    low, high = max(fitting, default=max_chars), max_chars
    while low < high:
        middle = (low + high) // 2
        if len(_wrap_greedy(texts, middle)) <= line_count:
            high = middle
        else:
            low = middle + 1
    return [" ".join(line) for line in _wrap_greedy(texts, low)]


# --------------------------------------------------------------------------- grouping


def _strip_closing(text: str) -> str:
    """Drop trailing quotes/brackets so 'end."' and 'end.)' count as sentence ends."""
    return text.rstrip(CLOSING_CHARS)


def _ends_sentence(text: str) -> bool:
    """True after . ! ? … (possibly followed by closing quotes or brackets)."""
    core = _strip_closing(text)
    return bool(core) and core[-1] in SENTENCE_END_CHARS


def _ends_clause(text: str) -> bool:
    """True after , ; : or a dash, the second-best places to break a caption."""
    core = _strip_closing(text)
    return bool(core) and core[-1] in CLAUSE_END_CHARS


def _texts(words: Sequence[Word]) -> list[str]:
    return [word.word for word in words]


def _duration_ms(words: Sequence[Word]) -> int:
    return _to_ms(words[-1].end) - _to_ms(words[0].start)


def _fits(words: Sequence[Word], limits: _Limits) -> bool:
    """Whether these words can share one caption; a single word always can."""
    if len(words) <= 1:
        return True
    if _duration_ms(words) > limits.max_ms:
        return False
    return len(_wrap_greedy(_texts(words), limits.max_chars)) <= limits.max_lines


def _is_tiny(head: Sequence[Word], whole: Sequence[Word], limits: _Limits) -> bool:
    """A head this short would flash by as an orphan caption, so no break is made for it."""
    threshold = min(limits.max_chars / 2, _joined_length(_texts(whole)) / 3)
    return _joined_length(_texts(head)) < threshold


def _last_break(words: Sequence[Word], limits: _Limits, is_break: Callable[[str], bool]) -> int:
    """Word count of the longest non-tiny head ending at a break point, or 0 when none."""
    for count in range(len(words), 0, -1):
        head = words[:count]
        if is_break(head[-1].word) and not _is_tiny(head, words, limits):
            return count
    return 0


def _split_preferred(words: Sequence[Word], limits: _Limits) -> tuple[list[Word], list[Word]]:
    """Close a full caption at its last sentence end, else clause end, else keep it whole."""
    count = _last_break(words, limits, _ends_sentence) or _last_break(words, limits, _ends_clause)
    count = count or len(words)
    return list(words[:count]), list(words[count:])


def _is_full_sentence_stop(words: Sequence[Word], limits: _Limits) -> bool:
    """A sentence just ended and the caption already holds a full line: a natural place to cut."""
    return _ends_sentence(words[-1].word) and _joined_length(_texts(words)) >= limits.max_chars


def _group_run(run: Sequence[Word], limits: _Limits) -> list[list[Word]]:
    """Group words that have no long pause between them, respecting every caption limit."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in run:
        while current and not _fits([*current, word], limits):
            head, current = _split_preferred(current, limits)
            groups.append(head)
        current.append(word)
        if _is_full_sentence_stop(current, limits):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _split_at_pauses(words: Sequence[Word], pause_ms: int) -> list[list[Word]]:
    """Runs of words separated by silences longer than the pause threshold."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and _to_ms(word.start) - _to_ms(runs[-1][-1].end) > pause_ms:
            runs.append([word])
        elif runs:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def _limits_from(options: CaptionOptions) -> _Limits:
    return _Limits(
        max_chars=options.max_chars_per_line,
        max_lines=options.max_lines,
        max_ms=_to_ms(options.max_caption_s),
        pause_ms=_to_ms(options.pause_split_s),
    )


def _speaker_runs(words: Sequence[Word]) -> list[list[Word]]:
    """Runs of words by one speaker: a caption never holds two speakers."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def group_captions(words: Sequence[Word], options: CaptionOptions) -> list[Caption]:
    """Split sanitised words into captions once, so all formats share the same boundaries."""
    limits = _limits_from(options)
    runs = [run for turn in _speaker_runs(words) for run in _split_at_pauses(turn, limits.pause_ms)]
    groups = [group for run in runs for group in _group_run(run, limits)]
    return [
        Caption(index=number, start=group[0].start, end=group[-1].end,
                lines=_wrap_balanced(_texts(group), limits.max_chars), words=list(group), speaker=group[0].speaker)
        for number, group in enumerate(groups, start=1)
    ]  # fmt: skip


# --------------------------------------------------------------------------- SRT / ASS (pysubs2)


def _protect_backslashes(text: str) -> str:
    r"""Keep a literal '\N', '\n' or '\h' in a word from being read as an ASS line break or space."""
    return re.sub(r"\\(?=[Nnh])", "\\\\\u2060", text)


def _ass_text(text: str) -> str:
    """ASS has no escape for braces (they open override tags), so show them as parentheses."""
    return _protect_backslashes(text).replace("{", "(").replace("}", ")")


def render_srt(captions: Sequence[Caption], speakers: SpeakerOptions | None = None) -> str:
    """SubRip via pysubs2; '\\N' between lines becomes a real line break in the file.

    Multi-voice: a cue starts with 'Name: ' when its speaker differs from the previous cue's.
    """
    subs = pysubs2.SSAFile()
    previous = None
    for caption in captions:
        text = r"\N".join(_protect_backslashes(line) for line in caption.lines)
        if speakers is not None and speakers.label_changes and caption.speaker and caption.speaker != previous:
            text = f"{caption.speaker}: {text}"
        previous = caption.speaker
        subs.append(pysubs2.SSAEvent(start=_to_ms(caption.start), end=_to_ms(caption.end), text=text))
    return subs.to_string("srt", keep_ssa_tags=True)


def _ass_centiseconds(seconds: float) -> int:
    """ASS stores centiseconds; round half up like pysubs2 and Aegisub do."""
    return (_to_ms(seconds) + 5) // 10


def _line_word_counts(caption: Caption) -> list[int]:
    """How many of the caption's words sit on each of its lines (lines are words joined by spaces)."""
    counts: list[int] = []
    position = 0
    for line in caption.lines:
        count, length = 0, -1
        while position + count < len(caption.words) and length < len(line):
            length += 1 + len(caption.words[position + count].word)
            count += 1
        counts.append(count)
        position += count
    return counts


def _karaoke_durations(caption: Caption) -> list[int]:
    """Per-word \\k lengths in cs; each word keeps the gap after it, so they sum to the event length."""
    origin = _ass_centiseconds(caption.start)
    marks = [_ass_centiseconds(word.start) - origin for word in caption.words[1:]]
    marks = [0, *marks, _ass_centiseconds(caption.end) - origin]
    return [after - before for before, after in pairwise(marks)]


def _karaoke_text(caption: Caption) -> str:
    """Caption text with a {\\kN} tag before every word and '\\N' between lines."""
    tagged = [
        f"{{\\k{duration}}}{_ass_text(word.word)}"
        for word, duration in zip(caption.words, _karaoke_durations(caption), strict=True)
    ]
    lines: list[str] = []
    position = 0
    for count in _line_word_counts(caption):
        lines.append(" ".join(tagged[position : position + count]))
        position += count
    return r"\N".join(lines)


def _ass_style(karaoke: bool) -> pysubs2.SSAStyle:
    """Large bold white text with a dark outline at bottom centre, readable on any 1080p video.

    Karaoke fills words from the secondary to the primary colour, so spoken words turn yellow.
    """
    white, yellow = pysubs2.Color(255, 255, 255), pysubs2.Color(255, 220, 0)
    return pysubs2.SSAStyle(
        fontname="Arial", fontsize=64, bold=True,
        primarycolor=yellow if karaoke else white, secondarycolor=white,
        outlinecolor=pysubs2.Color(0, 0, 0), backcolor=pysubs2.Color(0, 0, 0, 128),
        outline=3.0, shadow=1.0, alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=80, marginr=80, marginv=60,
    )  # fmt: skip


def _speaker_styles(karaoke: bool, speakers: SpeakerOptions) -> dict[str, pysubs2.SSAStyle]:
    """One style per speaker, the default style's look in the speaker's colour (karaoke: the spoken colour)."""
    styles = {}
    for position, name in enumerate(speakers.speakers):
        hex_colour = speakers.colors.get(name) or SPEAKER_COLOURS[position % len(SPEAKER_COLOURS)]
        red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        style = _ass_style(karaoke).copy()
        style.primarycolor = pysubs2.Color(red, green, blue)
        styles[name] = style
    return styles


def render_ass(captions: Sequence[Caption], karaoke: bool, speakers: SpeakerOptions | None = None) -> str:
    """Advanced SubStation Alpha via pysubs2, for burning in with FFmpeg's subtitles/ass filter.

    Multi-voice: one style per speaker (named after it), each in its own colour.
    """
    subs = pysubs2.SSAFile()
    subs.info["Title"] = "F5-TTS word timings"
    subs.info["PlayResX"], subs.info["PlayResY"] = str(ASS_PLAY_RES[0]), str(ASS_PLAY_RES[1])
    subs.styles = {ASS_STYLE_NAME: _ass_style(karaoke)}
    if speakers is not None:
        subs.styles.update(_speaker_styles(karaoke, speakers))
    for caption in captions:
        text = _karaoke_text(caption) if karaoke else r"\N".join(_ass_text(x) for x in caption.lines)
        style = caption.speaker if speakers is not None and caption.speaker in subs.styles else ASS_STYLE_NAME
        subs.append(pysubs2.SSAEvent(
            start=_ass_centiseconds(caption.start) * 10, end=_ass_centiseconds(caption.end) * 10,
            text=text, style=style, name=caption.speaker or "",
        ))  # fmt: skip
    return subs.to_string("ass")


# --------------------------------------------------------------------------- VTT / CSV / JSON


def _vtt_timestamp(seconds: float) -> str:
    """HH:MM:SS.mmm with the '.' decimal marker WebVTT requires."""
    hours, rest = divmod(_to_ms(seconds), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _vtt_escape(text: str) -> str:
    """'&', '<' and '>' are markup in cue text; escaping '>' also keeps '-->' out of cues."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_lines(caption: Caption) -> list[str]:
    """Escaped cue lines; a speaker's cue opens with a '<v Name>' voice span (closed at the cue's end)."""
    lines = [_vtt_escape(line) for line in caption.lines]
    if caption.speaker and lines:
        lines[0] = f"<v {_vtt_escape(caption.speaker)}>{lines[0]}"
    return lines


def render_vtt(captions: Sequence[Caption]) -> str:
    """WebVTT written directly: pysubs2 does not escape cue text, which breaks on '<' or '&'."""
    cues = [
        "\n".join([str(caption.index),
                   f"{_vtt_timestamp(caption.start)} --> {_vtt_timestamp(caption.end)}",
                   *_vtt_lines(caption)])
        for caption in captions
    ]  # fmt: skip
    return "\n\n".join(["WEBVTT", *cues]) + "\n"


def render_csv(words: Sequence[Word]) -> str:
    """One row per word for spreadsheets and scripts; the csv module quotes commas and quotes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with_speaker = any(word.speaker for word in words)  # multi-voice: a speaker column
    writer.writerow(["word", "start", "end", "confidence", *(["speaker"] if with_speaker else [])])
    for word in words:
        confidence = "" if word.confidence is None else str(word.confidence)
        speaker = [word.speaker or ""] if with_speaker else []
        writer.writerow([word.word, f"{word.start:.3f}", f"{word.end:.3f}", confidence, *speaker])
    return buffer.getvalue()


def _caption_records(captions: Sequence[Caption]) -> list[dict]:
    """Captions with [word_start, word_end) indexes into the words list they were grouped from."""
    records: list[dict] = []
    first = 0
    for caption in captions:
        last = first + len(caption.words)
        records.append({
            "index": caption.index, "start": caption.start, "end": caption.end,
            "text": "\n".join(caption.lines), "lines": list(caption.lines),
            "word_start": first, "word_end": last,
        })  # fmt: skip
        if caption.speaker:
            records[-1]["speaker"] = caption.speaker
        first = last
    return records


def render_json(words: Sequence[Word], captions: Sequence[Caption]) -> str:
    """Words plus caption boundaries, for callers that lay out their own captions."""
    payload = {
        "words": [word.model_dump() for word in words],
        "captions": _caption_records(captions),
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- dispatch


def _check_format(fmt: str) -> None:
    if fmt not in TIMING_FORMATS:
        raise ValueError(f"unknown timing format {fmt!r}; expected one of {', '.join(TIMING_FORMATS)}")


def render_timing_file(
    fmt: str, words: Sequence[Word], captions: Sequence[Caption], options: CaptionOptions,
    speakers: SpeakerOptions | None = None,
) -> str:  # fmt: skip
    """Render one format from already sanitised words and the captions grouped from them."""
    _check_format(fmt)
    if fmt == "srt":
        return render_srt(captions, speakers)
    if fmt == "vtt":
        return render_vtt(captions)
    if fmt == "ass":
        return render_ass(captions, karaoke=options.karaoke, speakers=speakers)
    if fmt == "csv":
        return render_csv(words)
    return render_json(words, captions)


def render_timing_files(
    words: Iterable[Word | dict], formats: Iterable[str], options: CaptionOptions,
    speakers: SpeakerOptions | None = None,
) -> dict[str, str]:  # fmt: skip
    """Sanitise and group once, then render each requested format: {format: file text}."""
    requested = list(formats)
    for fmt in requested:
        _check_format(fmt)
    clean = sanitize_words(words)
    captions = group_captions(clean, options)
    return {fmt: render_timing_file(fmt, clean, captions, options, speakers) for fmt in requested}
