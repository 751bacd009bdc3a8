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

from f5worker.media.subtitles import SpeakerOptions, render_timing_files
from f5worker.words import CaptionOptions, Word

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
