"""Timing files (SRT, WebVTT, ASS, CSV, JSON) rendered from one shared caption grouping."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

import pysubs2

from ..media.word_order import to_ms
from ..words import TIMING_FORMATS, Word
from .group import Caption, group_captions, sanitize_words
from .options import CaptionOptions, SpeakerOptions

ASS_PLAY_RES = (1920, 1080)
ASS_STYLE_NAME = "Default"


# Distinct, readable on video (white is the single-voice colour): gold, sky blue, light green, salmon, ...
SPEAKER_COLOURS = ("#FFD700", "#66CCFF", "#90EE90", "#FF9980", "#DDA0DD", "#FFA500", "#40E0D0", "#F0E68C")


# --------------------------------------------------------------------------- SRT / ASS (pysubs2)

WORD_JOINER = "\u2060"  # invisible, joins nothing visible, and is not whitespace to any SRT reader


def _protect_backslashes(text: str) -> str:
    r"""Keep a literal '\N', '\n' or '\h' in a word from being read as an ASS line break or space."""
    return re.sub(r"\\(?=[Nnh])", "\\\\" + WORD_JOINER, text)


def _ass_text(text: str) -> str:
    """ASS has no portable escape for braces (they open override tags), so show them as parentheses."""
    return _protect_backslashes(text).replace("{", "(").replace("}", ")")


# A digit then ':' (an h:m:s timestamp, found anywhere in a line by pysubs2 and by loose players).
_TIMESTAMP_COLON = re.compile(r"(?<=\d)([:\uff1a])")
# '>' ends every arrow an SRT reader accepts ('-->', '- >', '-- >', '->').
_ARROW_HEAD = re.compile(r"([>\uff1e])")


def _inert_srt_line(line: str) -> str:
    r"""A caption line that no SRT reader takes for a cue index or a timing line.

    FFmpeg's demuxer (sscanf '%d:%d:%d,%d --> ...' on each line), the ``srt`` package (an index
    and a timestamp at a line start, any of ',.:' and their full-width forms between fields) and
    pysubs2 (two timestamps anywhere in a line, a trailing number line taken for the next index)
    all need a digit or a sign first, a digit right before ':', or '>' right after '-'. A word
    joiner goes before a leading digit or sign, after every ':' that follows a digit, and before
    every '>': nothing a viewer sees changes, and no pattern can match.
    """
    line = _TIMESTAMP_COLON.sub(r"\1" + WORD_JOINER, line)
    line = _ARROW_HEAD.sub(WORD_JOINER + r"\1", line)
    return WORD_JOINER + line if line[:1] in "+-" or line[:1].isnumeric() else line


def _srt_text(text: str) -> str:
    r"""SubRip text that players show as typed.

    FFmpeg's subrip decoder (and so mpv and the subtitles filter) reads <b>, <i>, <u>, <font> and
    drops other tags, keeps {\an8}-style blocks, and hands the rest to libass, which reads '{...}'
    as an override block and '\N' as a line break. A word joiner after '<' stops tag parsing,
    '\{' and '\}' are libass's literal braces (a word joiner keeps '\{' from looking like '{\'),
    and '\N' is protected as in ASS.
    """
    text = _protect_backslashes(text).replace("{", "\\{" + WORD_JOINER).replace("}", "\\}")
    return _inert_srt_line(text.replace("<", "<" + WORD_JOINER))


def render_srt(captions: Sequence[Caption]) -> str:
    """SubRip via pysubs2; '\\N' between lines becomes a real line break in the file.

    Multi-voice: a cue starts with its label ('Name: ') when its speaker differs from the previous
    cue's, as grouped by ``group_captions(..., speakers)``. Every line, the label included, is made
    inert (``_inert_srt_line``).
    """
    subs = pysubs2.SSAFile()
    for caption in captions:
        lines = [caption.label + caption.lines[0], *caption.lines[1:]] if caption.lines else []
        text = r"\N".join(_srt_text(line) for line in lines)
        subs.append(pysubs2.SSAEvent(start=to_ms(caption.start), end=to_ms(caption.end), text=text))
    return subs.to_string("srt", keep_ssa_tags=True)


def _ass_centiseconds(seconds: float) -> int:
    """ASS stores centiseconds; round half up like pysubs2 and Aegisub do."""
    return (to_ms(seconds) + 5) // 10


def _karaoke_durations(caption: Caption) -> list[int]:
    """Per-word \\k lengths in cs; each word keeps the gap after it, so they sum to the event length.

    A caption may end before its last word does (the gap before the next caption), so marks are
    clamped to the event.
    """
    origin = _ass_centiseconds(caption.start)
    total = _ass_centiseconds(caption.end) - origin
    marks = [min(max(_ass_centiseconds(word.start) - origin, 0), total) for word in caption.words[1:]]
    marks = [0, *marks, total]
    return [after - before for before, after in pairwise(marks)]


def _karaoke_text(caption: Caption) -> str:
    """Caption text with a {\\kN} tag before every word and '\\N' between lines."""
    durations = _karaoke_durations(caption)
    lines: list[str] = []
    for line in caption.layout:
        parts: list[str] = []
        for n, piece in enumerate(line):
            text = _ass_text(piece.text)
            if not piece.glued:
                text = f"{{\\k{durations[piece.word]}}}{text}"
            parts.append(text if piece.glued or n == 0 else " " + text)
        lines.append("".join(parts))
    return r"\N".join(lines)


def _ass_style(karaoke: bool) -> pysubs2.SSAStyle:
    """Large bold white text with a dark outline at bottom centre, readable on any 1080p video.

    Karaoke fills words from the secondary to the primary colour, so spoken words turn yellow.
    """
    white, yellow = pysubs2.Color(255, 255, 255), pysubs2.Color(255, 220, 0)
    return pysubs2.SSAStyle(
        fontname="Arial",
        fontsize=64,
        bold=True,
        primarycolor=yellow if karaoke else white,
        secondarycolor=white,
        outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128),
        outline=3.0,
        shadow=1.0,
        alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=80,
        marginr=80,
        marginv=60,
    )


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
        subs.append(
            pysubs2.SSAEvent(
                start=_ass_centiseconds(caption.start) * 10,
                end=_ass_centiseconds(caption.end) * 10,
                text=text,
                style=style,
                name=caption.speaker or "",
            )
        )
    return subs.to_string("ass")


# --------------------------------------------------------------------------- VTT / CSV / JSON


def _vtt_timestamp(seconds: float) -> str:
    """HH:MM:SS.mmm with the '.' decimal marker WebVTT requires."""
    hours, rest = divmod(to_ms(seconds), 3_600_000)
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
        "\n".join(
            [
                str(caption.index),
                f"{_vtt_timestamp(caption.start)} --> {_vtt_timestamp(caption.end)}",
                *_vtt_lines(caption),
            ]
        )
        for caption in captions
    ]
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
        records.append(
            {
                "index": caption.index,
                "start": caption.start,
                "end": caption.end,
                "text": "\n".join(caption.lines),
                "lines": list(caption.lines),
                "word_start": first,
                "word_end": last,
            }
        )
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
    fmt: str,
    words: Sequence[Word],
    captions: Sequence[Caption],
    options: CaptionOptions,
    speakers: SpeakerOptions | None = None,
) -> str:
    """Render one format from already sanitised words and the captions grouped from them."""
    _check_format(fmt)
    if fmt == "srt":
        return render_srt(captions)
    if fmt == "vtt":
        return render_vtt(captions)
    if fmt == "ass":
        return render_ass(captions, karaoke=options.karaoke, speakers=speakers)
    if fmt == "csv":
        return render_csv(words)
    return render_json(words, captions)


def render_timing_files(
    words: Iterable[Word | dict],
    formats: Iterable[str],
    options: CaptionOptions,
    speakers: SpeakerOptions | None = None,
) -> dict[str, str]:
    """Sanitise and group once, then render each requested format: {format: file text}."""
    requested = list(formats)
    for fmt in requested:
        _check_format(fmt)
    clean = sanitize_words(words)
    captions = group_captions(clean, options, speakers)
    return {fmt: render_timing_file(fmt, clean, captions, options, speakers) for fmt in requested}
