"""Broadcast caption rules, checked on timing files as a player would read them.

Each format is read back with an independent parser (``srt`` for SubRip, ``webvtt-py`` for WebVTT,
pysubs2 for ASS), never with the worker's own code, and every cue is held to the caption options
it was made with: line length and count, minimum and maximum duration, reading speed, the gap
between cues, no line ending on an article, and text that shows as typed. Where a rule cannot be
met (the next caption starts too soon to extend a cue, a single word longer than a caption) the
writer's documented exception is the only thing accepted.

``check_timing_files`` takes the rendered files; ``check_job_output`` takes a ``tts``/``stt`` job's
input and output (text or URL delivery). ``tests/conftest.py`` runs the first on every file an
in-process job renders, and ``tests/helpers.py`` the second on every job output of the local API.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pysubs2
import requests
import srt
import webvtt
from webvtt.models import Timestamp

from f5worker.captions.options import CaptionOptions

ARTICLES = ("a", "an", "the")
WORD_JOINER = "\u2060"
ASS_SLACK_S = 0.010  # ASS stores centiseconds: each of two times may move 5 ms
MS_SLACK_S = 0.0015  # SRT/VTT store milliseconds
KARAOKE_OR_NOTHING = re.compile(r"\{\\k\d+\}")
VOICE_SPAN = re.compile(r"^<v[ .][^>]*>")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: list[str]  # the caption text a viewer sees, line by line
    label: str = ""  # SRT: the 'Name: ' printed before the first line at a speaker change

    @property
    def printed(self) -> list[str]:
        """The lines as shown, the speaker label included."""
        return [self.label + self.lines[0], *self.lines[1:]] if self.lines else []


# --------------------------------------------------------------------------- parsing


def _srt_visible(content: str) -> list[str]:
    r"""What libass shows for an SRT line written by the worker: '\{' '\}' are literal braces."""
    assert not re.search(r"(?<!\\)\{", content), f"SRT: unescaped '{{' would hide text: {content!r}"
    assert not re.search(r"<[A-Za-z/]", content), f"SRT: '<' would start a markup tag: {content!r}"
    return [line.replace("\\{", "{").replace("\\}", "}").replace(WORD_JOINER, "") for line in content.split("\n")]


def srt_cues(text: str) -> list[Cue]:
    return [
        Cue(cue.start.total_seconds(), cue.end.total_seconds(), _srt_visible(cue.content)) for cue in srt.parse(text)
    ]


def vtt_cues(text: str) -> list[Cue]:
    cues = webvtt.from_string(text, strict=True)
    parsed = []
    for cue in cues:
        raw = list(cue.lines)
        if raw and cue.voice:  # a multi-voice cue opens with a '<v Name>' voice span, not shown as text
            raw[0] = VOICE_SPAN.sub("", raw[0], count=1)
        assert not any("<" in line for line in raw), f"VTT: unescaped markup in {cue.lines!r}"
        lines = [line.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for line in raw]
        start = Timestamp.from_string(cue.start).in_milliseconds() / 1000
        parsed.append(Cue(start, Timestamp.from_string(cue.end).in_milliseconds() / 1000, lines))
    return parsed


def ass_cues(text: str) -> list[Cue]:
    subs = pysubs2.SSAFile.from_string(text)
    cues = []
    for event in subs.events:
        blocks = re.findall(r"\{[^}]*\}", event.text)
        assert all(KARAOKE_OR_NOTHING.fullmatch(block) for block in blocks), f"ASS: stray override {blocks}"
        cues.append(Cue(event.start / 1000, event.end / 1000, event.plaintext.replace(WORD_JOINER, "").split("\n")))
    return cues


PARSERS = {"srt": (srt_cues, MS_SLACK_S), "vtt": (vtt_cues, MS_SLACK_S), "ass": (ass_cues, ASS_SLACK_S)}


# --------------------------------------------------------------------------- rules


def _single_word(cue: Cue) -> bool:
    """One word broken over lines: the one caption allowed more lines or time than the options say."""
    return not any(" " in line for line in cue.lines)


def _visible_chars(cue: Cue) -> int:
    """Characters read, spaces and speaker label included; a line break is not counted (it may split a long word)."""
    return sum(len(line) for line in cue.printed)


def check_cues(cues: list[Cue], options: CaptionOptions, fmt: str, slack: float) -> None:
    """Every caption rule on one file's cues; `slack` is the format's time resolution."""
    min_s = min(options.min_caption_s, options.max_caption_s)
    for position, cue in enumerate(cues):
        where = f"{fmt} cue {position + 1} {cue.start:.3f}-{cue.end:.3f} {cue.printed!r}"
        following = cues[position + 1] if position + 1 < len(cues) else None
        duration = cue.end - cue.start
        assert cue.start >= 0 and duration > 0, f"{where}: empty or negative"
        assert all(len(line) <= options.max_chars_per_line for line in cue.printed), f"{where}: line too long"
        assert all(line.strip() for line in cue.lines), f"{where}: blank line"
        assert len(cue.lines) <= options.max_lines or _single_word(cue), f"{where}: too many lines"
        if options.smart_line_breaks:  # a caption's own end may be forced by a pause, its line breaks never
            inner = [line.split()[-1].lower() for line in cue.printed[:-1]]
            assert not set(inner) & set(ARTICLES), f"{where}: a line ends on an article"
        capped = False  # the next cue starts too soon to show this one longer
        if following is not None:
            gap = following.start - cue.end
            # A gap is kept unless the next cue starts within a gap and a frame (40 ms) of this one.
            if following.start - cue.start > options.min_gap_s + 0.040 + slack:
                assert gap >= options.min_gap_s - slack, f"{where}: {gap * 1000:.0f} ms before the next cue"
            capped = gap <= options.min_gap_s + slack
        if not capped:
            assert duration >= min_s - slack, f"{where}: shorter than {min_s} s with room to stay longer"
        assert duration <= options.max_caption_s + slack or _single_word(cue), f"{where}: longer than max_caption_s"
        at_max = duration >= options.max_caption_s - slack
        if not (capped or at_max):
            # Over the duration the format could have written (ASS keeps centiseconds: a 0.132 s cue reads 0.13).
            speed = _visible_chars(cue) / (duration + slack)
            assert speed <= options.max_chars_per_s + 0.5, f"{where}: {speed:.1f} characters a second"


def _same_cues(reference: list[Cue], other: list[Cue], fmt: str, slack: float) -> None:
    assert len(other) == len(reference), f"{fmt}: {len(other)} cues, SRT has {len(reference)}"
    for mine, theirs in zip(other, reference, strict=True):
        expected = [line.replace("{", "(").replace("}", ")") for line in theirs.lines] if fmt == "ass" else theirs.lines
        assert mine.lines == expected, f"{fmt}: {mine.lines!r} != SRT {theirs.lines!r}"
        assert abs(mine.start - theirs.start) <= slack and abs(mine.end - theirs.end) <= slack, (fmt, mine, theirs)


def _check_json(text: str, reference: list[Cue] | None) -> None:
    data = json.loads(text)
    previous = 0.0
    for word in data["words"]:
        for key in ("start", "end"):
            assert round(word[key], 3) == word[key], f"json: {key} {word[key]!r} is not whole milliseconds"
        assert previous <= word["start"] <= word["end"], f"json: word times go backwards at {word}"
        previous = word["start"]
    if reference is not None:
        assert [(c["start"], c["end"], c["lines"]) for c in data["captions"]] == [
            (round(c.start, 3), round(c.end, 3), c.lines) for c in reference
        ], "json captions differ from the SRT cues"


SPEAKER_LABEL = re.compile(r"(?P<name>[^\s:…]+)(?P<cut>…?): ")


def _with_speaker_label(cue: Cue, names: Sequence[str]) -> Cue:
    """An SRT cue with its 'Name: ' speaker label (a long name cut short as 'Na…: ') taken apart from
    the caption text, which the other formats show without it."""
    found = SPEAKER_LABEL.match(cue.lines[0]) if cue.lines else None
    if found is None:
        return cue
    name, cut = found["name"], found["cut"]
    if not any(full == name or (cut and full.startswith(name)) for full in names):
        return cue
    return dataclasses.replace(cue, lines=[cue.lines[0][found.end() :], *cue.lines[1:]], label=found.group())


def check_timing_files(
    files: dict[str, str], options: CaptionOptions | None = None, speaker_names: Sequence[str] = ()
) -> None:
    """All rules on every caption format present, and the formats agree with each other.

    Multi-voice SRT cues open with 'Name: ' at speaker changes; the rules apply to the lines as printed,
    the label included, and the other formats must show the same caption without it.
    """
    options = options or CaptionOptions()
    parsed: dict[str, list[Cue]] = {}
    for fmt, (parse, slack) in PARSERS.items():
        if fmt in files:
            parsed[fmt] = parse(files[fmt])
            if fmt == "srt" and speaker_names:
                parsed[fmt] = [_with_speaker_label(cue, speaker_names) for cue in parsed[fmt]]
            check_cues(parsed[fmt], options, fmt, slack)
    reference = parsed.get("srt")
    if reference is not None:
        for fmt in ("vtt", "ass"):
            if fmt in parsed:
                _same_cues(reference, parsed[fmt], fmt, PARSERS[fmt][1])
    if "json" in files:
        _check_json(files["json"], reference)


# --------------------------------------------------------------------------- job outputs


def _file_text(entry: dict) -> str:
    if "text" in entry:
        return entry["text"]
    response = requests.get(entry["url"], timeout=10)
    response.raise_for_status()
    return response.content.decode("utf-8")


def check_job_output(job_input: dict, output: dict) -> None:
    """Check the timing files of a finished tts/stt job, fetched the way a caller would."""
    if not isinstance(output, dict):
        return
    files = output.get("files")
    if files is None and isinstance(output.get("timings"), dict):
        files = output["timings"].get("files")
    if not files or job_input.get("endpoint", "tts") not in ("tts", "stt"):
        return
    options = CaptionOptions(**{name: job_input[name] for name in CaptionOptions.model_fields if name in job_input})
    check_timing_files({fmt: _file_text(entry) for fmt, entry in files.items()}, options)
