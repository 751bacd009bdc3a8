"""Speaker-labelled timing files (multi-voice jobs), read back with independent parsers and burnt by FFmpeg.

Kept apart from ``test_subtitles.py`` so the caption-grouping work there and this stay easy to merge.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pysubs2
import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from f5worker.captions.options import CaptionOptions, SpeakerOptions
from f5worker.captions.render import render_timing_files
from f5worker.words import Word
from tests.caption_rules import check_timing_files

WORDS = [
    Word(word="It", start=0.0, end=0.2, speaker="narrator"),
    Word(word="was", start=0.2, end=0.4, speaker="narrator"),
    Word(word="late.", start=0.4, end=0.9, speaker="narrator"),
    Word(word="Was", start=1.0, end=1.2, speaker="guest"),  # no pause and no sentence rule would split here
    Word(word="it?", start=1.2, end=1.5, speaker="guest"),
    Word(word="Yes,", start=1.5, end=1.8, speaker="narrator"),
    Word(word="it", start=1.8, end=1.9, speaker="narrator"),
    Word(word="was.", start=1.9, end=2.3, speaker="narrator"),
    Word(word="And", start=2.3, end=2.5, speaker="narrator"),
    Word(word="then?", start=2.5, end=2.9, speaker="guest"),
]
SPEAKERS = SpeakerOptions(speakers=["narrator", "guest"], colors={"guest": "#00FF00"})


def files(options: CaptionOptions | None = None, speakers: SpeakerOptions | None = SPEAKERS) -> dict[str, str]:
    return render_timing_files(WORDS, ["srt", "vtt", "ass", "csv", "json"], options or CaptionOptions(), speakers)


def test_captions_never_mix_speakers_and_json_csv_carry_them():
    data = json.loads(files()["json"])
    for caption in data["captions"]:
        speakers = {data["words"][i]["speaker"] for i in range(caption["word_start"], caption["word_end"])}
        assert speakers == {caption["speaker"]}
    assert [c["speaker"] for c in data["captions"]] == ["narrator", "guest", "narrator", "guest"]
    rows = list(csv.DictReader(io.StringIO(files()["csv"])))
    assert [row["speaker"] for row in rows] == [word.speaker for word in WORDS]


def test_single_voice_files_are_unchanged_by_speakers():
    plain = [Word(word=w.word, start=w.start, end=w.end) for w in WORDS]
    out = render_timing_files(plain, ["csv", "json"], CaptionOptions())
    assert out["csv"].splitlines()[0] == "word,start,end,confidence"
    assert "speaker" not in out["json"]
    assert Word(word="a", start=0, end=1).model_dump() == {"word": "a", "start": 0, "end": 1, "confidence": None}


def test_srt_names_the_speaker_only_when_it_changes():
    words = [*WORDS, Word(word="Nothing.", start=3.5, end=4.0, speaker="guest")]  # a pause: same speaker again
    out = render_timing_files(words, ["srt"], CaptionOptions(), SPEAKERS)["srt"]
    cues = list(srt.parse(out))
    assert [cue.content.split(":")[0] for cue in cues[:4]] == ["narrator", "guest", "narrator", "guest"]
    assert cues[-1].content == "Nothing."
    unlabelled = render_timing_files(WORDS, ["srt"], CaptionOptions(), SpeakerOptions(["narrator", "guest"], False))
    assert all(":" not in cue.content for cue in srt.parse(unlabelled["srt"]))


def test_vtt_voice_spans_read_by_webvtt_py(tmp_path):
    path = tmp_path / "t.vtt"
    path.write_text(files()["vtt"])
    captions = webvtt.read(str(path))
    assert [caption.voice for caption in captions] == ["narrator", "guest", "narrator", "guest"]
    assert captions[1].text == "Was it?"


@pytest.mark.parametrize("karaoke", [False, True])
def test_ass_has_a_coloured_style_per_speaker(karaoke):
    subs = pysubs2.SSAFile.from_string(files(CaptionOptions(karaoke=karaoke))["ass"])
    assert {"narrator", "guest"} <= set(subs.styles)
    assert subs.styles["guest"].primarycolor == pysubs2.Color(0, 255, 0)
    assert subs.styles["narrator"].primarycolor != subs.styles["guest"].primarycolor
    assert [event.style for event in subs] == ["narrator", "guest", "narrator", "guest"]
    if karaoke:
        assert all("\\k" in event.text for event in subs)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
@pytest.mark.parametrize("karaoke", [False, True])
def test_ffmpeg_burns_the_two_speaker_ass_without_warnings(tmp_path, karaoke):
    ass = tmp_path / "two.ass"
    ass.write_text(files(CaptionOptions(karaoke=karaoke))["ass"])
    result = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "warning",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=640x360:d=3:r=10",
            "-vf",
            f"ass={ass}",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # no warning at all from the ass filter or libass


# --------------------------------------------------------------------------- the label counts where it is printed


def srt_lines(text: str) -> list[str]:
    return [line for cue in srt.parse(text) for line in cue.content.replace("\u2060", "").split("\n")]


def test_the_label_takes_room_on_the_first_line():
    words = [
        Word(word="abcdefghi", start=0.0, end=0.5, speaker="guest"),
        Word(word="jklmnopqr", start=0.5, end=1.0, speaker="guest"),
    ]
    options = CaptionOptions(max_chars_per_line=19, max_lines=1, max_chars_per_s=100)
    plain = render_timing_files(words, ["srt"], options)["srt"]
    assert srt_lines(plain) == ["abcdefghi jklmnopqr"]  # exactly a line without the label
    out = render_timing_files(words, ["srt", "vtt", "ass", "json"], options, SPEAKERS)
    assert srt_lines(out["srt"]) == ["guest: abcdefghi", "jklmnopqr"]
    assert [c["lines"] for c in json.loads(out["json"])["captions"]] == [["abcdefghi"], ["jklmnopqr"]]
    check_timing_files(out, options, SPEAKERS.speakers)


def test_reading_time_counts_the_label():
    words = [Word(word="Yes.", start=0.0, end=0.3, speaker="narrator")]
    options = CaptionOptions(min_caption_s=0.1, max_chars_per_s=10)
    cue = next(srt.parse(render_timing_files(words, ["srt"], options, SPEAKERS)["srt"]))
    assert cue.content == "narrator: Yes."
    assert (cue.end - cue.start).total_seconds() >= len("narrator: Yes.") / 10


def test_a_long_first_word_breaks_after_the_label():
    words = [Word(word="supercalifragilistic", start=0.0, end=1.0, speaker="narrator")]
    options = CaptionOptions(max_chars_per_line=20)
    out = render_timing_files(words, ["srt", "vtt"], options, SPEAKERS)
    assert srt_lines(out["srt"]) == ["narrator: supercalif", "ragilistic"]
    check_timing_files(out, options, SPEAKERS.speakers)


def test_a_name_too_long_for_half_a_line_is_cut_short():
    name = "the-very-long-speaker-name"
    words = [Word(word="Hello", start=0.0, end=0.5, speaker=name), Word(word="Hi", start=0.6, end=0.9, speaker="b")]
    options = CaptionOptions(max_chars_per_line=20)
    out = render_timing_files(words, ["srt", "vtt"], options, SpeakerOptions([name, "b"]))
    assert srt_lines(out["srt"]) == ["the-ver…: Hello", "b: Hi"]
    check_timing_files(out, options, [name, "b"])


def test_the_checker_reads_the_label_as_printed():
    cue = "1\n00:00:00,000 --> 00:00:05,000\nnarrator: {line}\n"
    options = CaptionOptions(max_chars_per_line=20)
    check_timing_files({"srt": cue.format(line="x" * 10)}, options, ["narrator"])
    with pytest.raises(AssertionError, match="line too long"):
        check_timing_files({"srt": cue.format(line="x" * 11)}, options, ["narrator"])


NAMES = st.sampled_from(["a", "narrator", "guest-1", "x" * 30, "n-a-m-e-s_with-hyphens-all-along"])


@st.composite
def turns(draw):
    """Words of two to four speakers, with runs of long words, hyphens and pauses."""
    names = draw(st.lists(NAMES, min_size=2, max_size=4, unique=True))
    texts = draw(
        st.lists(
            st.sampled_from(["a", "word", "the", "end.", "so,", "long-hyphenated-word", "x" * 45]),
            min_size=1,
            max_size=40,
        )
    )
    words, at = [], 0.0
    for text in texts:
        at += draw(st.sampled_from([0.0, 0.05, 0.3, 1.5]))
        length = draw(st.sampled_from([0.05, 0.2, 0.6]))
        words.append(Word(word=text, start=at, end=at + length, speaker=draw(st.sampled_from(names))))
        at += length
    return names, words


@settings(max_examples=150, deadline=None)
@given(turns(), st.integers(10, 50), st.integers(1, 3), st.sampled_from([8.0, 17.0, 25.0]), st.booleans())
def test_every_labelled_srt_line_keeps_the_caption_rules(case, width, lines, speed, smart):
    names, words = case
    options = CaptionOptions(max_chars_per_line=width, max_lines=lines, max_chars_per_s=speed, smart_line_breaks=smart)
    out = render_timing_files(words, ["srt", "vtt", "ass", "json"], options, SpeakerOptions(names))
    assert all(len(line) <= width for line in srt_lines(out["srt"]))
    check_timing_files(out, options, names)
