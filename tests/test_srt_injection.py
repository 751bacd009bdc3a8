"""SRT text is inert: no caption line parses as a timing line or a cue index (issue 21, class 4).

A word such as ``00:00:05,000-->00:59:00,000`` (or ``0:0:5,0-->0:59:0,0``, with spaces, other
arrows) or a bare number at the start of a caption line must stay text in FFmpeg's SRT reader and
in two independent parsers (``srt`` and ``pysubs2``): the same cues, the same times, every word
shown. Hypothesis writes the hostile texts; FFmpeg converts each SRT to ASS, which pysubs2 reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pysubs2
import pytest
import srt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from f5worker.captions.group import Caption, group_captions, sanitize_words
from f5worker.captions.options import CaptionOptions, SpeakerOptions
from f5worker.captions.render import render_srt
from f5worker.words import Word
from tests.caption_rules import check_timing_files

WORD_JOINER = "\u2060"
NEEDS_FFMPEG = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")

# Pieces of timing lines in the spellings parsers accept: short fields, signs, ',' '.' ':' and their
# full-width forms (the srt package takes those), and arrows with or without spaces.
FIELD = st.integers(0, 99).map(str) | st.sampled_from(["00", "000", "0", "1", "-1", "+5", "٣", "０"])
DELIM = st.sampled_from([",", ".", ":", "，", "．", "：", "。"])
ARROW = st.sampled_from(["-->", " --> ", "->", "- >", "-- >", "--> ", " -->", "—>", "==>", "－－＞", "-->>"])
TIMESTAMP = st.builds(
    lambda h, m, s, d, ms: f"{h}:{m}:{s}{d}{ms}", FIELD, FIELD, FIELD, DELIM, FIELD
) | st.sampled_from(["00:00:05,000", "0:0:5,0", "00:59:00,000", "0:59:0,0", "1:2:3", "12:34:56.789"])
TIMING = st.builds(lambda a, arrow, b: f"{a}{arrow}{b}", TIMESTAMP, ARROW, TIMESTAMP)
INDEX = st.integers(-3, 10_000).map(str) | st.sampled_from(["1", "12.", "7.5", "42", " 3 "])
PLAIN = st.sampled_from(["Hello", "and", "then", "stop.", "X1:10", "Y2:20", "at", "->", ">", "-", "+"])
TOKEN = TIMING | TIMESTAMP | INDEX | ARROW | PLAIN | st.text(alphabet="0123456789:,.-> +", min_size=1, max_size=14)


def words_of(tokens: list[str]) -> list[Word]:
    """One word per token (a token with spaces becomes several), 0.3 s apart, as speech would time them."""
    texts = [part for token in tokens for part in token.split()]
    return [Word(word=text, start=round(n * 0.3, 3), end=round(n * 0.3 + 0.25, 3)) for n, text in enumerate(texts)]


def shown(text: str) -> str:
    r"""What a viewer reads: word joiners are invisible, '\{' '\}' are libass's literal braces."""
    return text.replace(WORD_JOINER, "").replace("\\{", "{").replace("\\}", "}")


def expected(captions: list[Caption]) -> list[tuple[int, int, str]]:
    return [(round(c.start * 1000), round(c.end * 1000), (c.label + "\n".join(c.lines))) for c in captions]


def read_with_srt(text: str) -> list[tuple[int, int, str]]:
    return [
        (round(cue.start.total_seconds() * 1000), round(cue.end.total_seconds() * 1000), shown(cue.content))
        for cue in srt.parse(text)
    ]


def read_with_pysubs2(text: str) -> list[tuple[int, int, str]]:
    events = pysubs2.SSAFile.from_string(text, format_="srt", keep_html_tags=True).events
    return [(event.start, event.end, shown(event.text.replace("\\N", "\n"))) for event in events]


def read_with_ffmpeg(text: str, tmp_path) -> list[tuple[int, int, str]]:
    """FFmpeg's SRT demuxer and subrip decoder, as the subtitles filter uses them: converted to ASS."""
    source, converted = tmp_path / "in.srt", tmp_path / "out.ass"
    source.write_text(text, encoding="utf-8")
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), str(converted)], check=True, capture_output=True
    )
    events = pysubs2.SSAFile.from_string(converted.read_text(encoding="utf-8")).events
    return [(event.start, event.end, shown(event.text.replace("\\N", "\n"))) for event in events]


def assert_same_cues(read: list[tuple[int, int, str]], wanted: list[tuple[int, int, str]], slack_ms: int = 0) -> None:
    """The same cues with the same text; times within `slack_ms` (FFmpeg's ASS keeps centiseconds)."""
    assert [text for _, _, text in read] == [text for _, _, text in wanted]
    for (start, end, _), (want_start, want_end, _) in zip(read, wanted, strict=True):
        assert abs(start - want_start) <= slack_ms and abs(end - want_end) <= slack_ms, (read, wanted)


def render(tokens: list[str], width: int) -> tuple[str, list[Caption]]:
    captions = group_captions(sanitize_words(words_of(tokens)), CaptionOptions(max_chars_per_line=width))
    return render_srt(captions), captions


HOSTILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HOSTILE
@given(tokens=st.lists(TOKEN, min_size=1, max_size=40), width=st.integers(10, 42))
def test_srt_and_pysubs2_read_hostile_text_as_text(tokens, width):
    text, captions = render(tokens, width)
    assert read_with_srt(text) == expected(captions)
    assert read_with_pysubs2(text) == expected(captions)


@NEEDS_FFMPEG
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(tokens=st.lists(TOKEN, min_size=1, max_size=60), width=st.integers(10, 42))
def test_ffmpeg_reads_hostile_text_as_text(tokens, width, tmp_path):
    text, captions = render(tokens, width)
    assert_same_cues(read_with_ffmpeg(text, tmp_path), expected(captions), slack_ms=10)


ISSUE_CASES = [
    "Meet at 00:00:05,000-->00:59:00,000 sharp",
    "0:0:5,0-->0:59:0,0 and the words stay",
    "00:00:05,000 --> 00:59:00,000",
    "1 00:00:05,000 --> 00:59:00,000 gone",
    "the answer is 42",
    "7",
]


@NEEDS_FFMPEG
@pytest.mark.parametrize("text", ISSUE_CASES)
@pytest.mark.parametrize("width", [10, 16, 42])
def test_the_reported_injections_stay_text(text, width, tmp_path):
    """The issue's examples, with widths that put the timing line (or the number) at a line start."""
    srt_text, captions = render([text], width)
    assert_same_cues(read_with_ffmpeg(srt_text, tmp_path), expected(captions), slack_ms=10)
    assert read_with_srt(srt_text) == read_with_pysubs2(srt_text) == expected(captions)
    check_timing_files({"srt": srt_text}, CaptionOptions(max_chars_per_line=width))


def test_a_speaker_label_line_is_inert_too():
    words = [
        Word(word=w, start=n * 0.3, end=n * 0.3 + 0.2, speaker="7") for n, w in enumerate(["1:2:3,4-->5:6:7,8", "x"])
    ]
    captions = group_captions(sanitize_words(words), CaptionOptions(), SpeakerOptions(["7"]))
    text = render_srt(captions)
    assert read_with_srt(text) == read_with_pysubs2(text) == expected(captions)


LINE_START_NUMBER = re.compile(r"^[\s+\-]*\d", re.MULTILINE)


@HOSTILE
@given(tokens=st.lists(TOKEN, min_size=1, max_size=40), width=st.integers(10, 42))
def test_the_invariants_that_make_it_inert(tokens, width):
    """By construction, whatever the parser: no text line starts with a sign or digit, no digit is
    followed by ':' and a character other than a word joiner, and no '>' follows anything but a word joiner."""
    text, _ = render(tokens, width)
    body = [line for block in text.split("\n\n") if block for line in block.split("\n")[2:]]
    for line in body:
        assert not (line[:1] in "+-" or line[:1].isnumeric()), line
        assert not re.search(rf"\d[:：](?!{WORD_JOINER})", line), line
        assert not re.search(rf"(?<!{WORD_JOINER})[>＞]", line), line


@NEEDS_FFMPEG
def test_word_joiners_are_invisible_when_burnt(tmp_path):
    """libass draws the inert SRT exactly as the same text without word joiners (pixel for pixel)."""
    words = words_of(["12:30 -> 42", "7", "a>b"])
    captions = group_captions(sanitize_words(words), CaptionOptions(max_chars_per_line=12))
    inert = render_srt(captions)
    assert WORD_JOINER in inert
    frames = []
    for name, text in (("inert", inert), ("plain", inert.replace(WORD_JOINER, ""))):
        (tmp_path / f"{name}.srt").write_text(text, encoding="utf-8")
        frame = tmp_path / f"{name}.png"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:s=640x360:d=1"]
            + ["-vf", f"subtitles={name}.srt", "-frames:v", "1", str(frame)],
            check=True,
            capture_output=True,
            cwd=tmp_path,
        )
        frames.append(frame.read_bytes())
    assert frames[0] == frames[1]
