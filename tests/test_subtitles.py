"""Timing files are read back with independent parsers and checked against the words they came from."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import pydantic
import pysubs2
import pytest
import srt
import webvtt
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from webvtt.models import Timestamp

from f5worker.captions.group import Caption, group_captions, sanitize_words
from f5worker.captions.options import CaptionOptions
from f5worker.captions.render import render_timing_file, render_timing_files
from f5worker.words import CONTENT_TYPES, TIMING_FORMATS, Word
from tests.caption_rules import check_timing_files

ONE_MS = 0.001 + 1e-9
ASS_TOLERANCE = 0.005 + 1e-9  # ASS stores centiseconds; pysubs2 rounds half up.
KARAOKE_TAG = re.compile(r"\{\\k(\d+)\}")


def timed(text: str, start: float = 0.0, step: float = 0.4, duration: float = 0.3) -> list[Word]:
    """Words of `text`, evenly spaced with gaps shorter than the default pause threshold."""
    return [
        Word(word=token, start=start + n * step, end=start + n * step + duration)
        for n, token in enumerate(text.split())
    ]


def grouped(words: list[Word], **options) -> list[Caption]:
    return group_captions(sanitize_words(words), CaptionOptions(**options))


def caption_texts(captions: list[Caption]) -> list[str]:
    return [" ".join(caption.lines) for caption in captions]


def render_all(words, **options) -> tuple[list[Word], list[Caption], dict[str, str]]:
    """The sanitised words, their captions and every format, as a caller would receive them (and
    held to the caption rules by independent parsers)."""
    opts = CaptionOptions(**options)
    clean = sanitize_words(words)
    files = render_timing_files(words, TIMING_FORMATS, opts)
    check_timing_files(files, opts)
    return clean, group_captions(clean, opts), files


SAMPLE = (
    "Hello, world. The naïve fox paid £13.60. for lunch — a bargain! "
    'Did it say "yes," or "no"? R&D <team> answered, quite loudly, on Tuesday.'
)


# --------------------------------------------------------------------------- options


def test_options_defaults_and_int_for_float():
    options = CaptionOptions(max_caption_s=5, pause_split_s=1)
    assert options.max_caption_s == 5.0 and isinstance(options.max_caption_s, float)
    assert (options.max_chars_per_line, options.max_lines, options.karaoke) == (42, 2, False)
    assert CaptionOptions.model_validate_json('{"max_caption_s": 3}').max_caption_s == 3.0


@pytest.mark.parametrize(
    "fields",
    [
        {"max_chars_per_line": 9},
        {"max_chars_per_line": 201},
        {"max_lines": 0},
        {"max_lines": 5},
        {"max_caption_s": 0.4},
        {"max_caption_s": 61},
        {"pause_split_s": 0.01},
        {"pause_split_s": 11},
    ],
)
def test_options_reject_out_of_range(fields):
    with pytest.raises(pydantic.ValidationError):
        CaptionOptions(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"max_lines": "2"},
        {"max_lines": 2.0},
        {"max_lines": True},
        {"max_caption_s": "5"},
        {"max_caption_s": True},
        {"karaoke": 1},
        {"karaoke": "yes"},
        {"max_chars_per_line": None},
    ],
)
def test_options_reject_wrong_types(fields):
    with pytest.raises(pydantic.ValidationError):
        CaptionOptions(**fields)


def test_options_reject_unknown_fields():
    with pytest.raises(pydantic.ValidationError, match="extra"):
        CaptionOptions.model_validate({"max_lines": 2, "font": "Arial"})


def test_options_fields_are_documented():
    assert all(field.description for field in CaptionOptions.model_fields.values())


# --------------------------------------------------------------------------- sanitising


def test_sanitize_drops_blank_words_and_normalises_spacing():
    words = sanitize_words(
        [
            {"word": "  ", "start": 0, "end": 1},
            {"word": " Hello,\n", "start": 1, "end": 2},
            {"word": "New\t York", "start": 2, "end": 3, "confidence": 0.5},
            {"word": "", "start": 3, "end": 4},
        ]
    )
    assert [(w.word, w.start, w.end, w.confidence) for w in words] == [
        ("Hello,", 1.0, 2.0, None),
        ("New York", 2.0, 3.0, 0.5),
    ]


def test_sanitize_fixes_negative_decreasing_and_overlapping_times():
    words = sanitize_words(
        [
            Word(word="a", start=-1.0, end=-0.5),
            Word(word="b", start=2.0, end=1.0),
            Word(word="c", start=1.5, end=3.0),
            Word(word="d", start=2.5, end=2.8),
        ]
    )
    assert [(w.start, w.end) for w in words] == [(0.0, 0.0), (2.0, 2.0), (2.0, 2.5), (2.5, 2.8)]


def test_sanitize_rounds_to_milliseconds_once():
    (word,) = sanitize_words([Word(word="x", start=1.23449, end=1.9996)])
    assert (word.start, word.end) == (1.234, 2.0)


def test_sanitize_tolerates_non_finite_values():
    words = sanitize_words(
        [
            Word(word="a", start=1.0, end=2.0, confidence=math.nan),
            Word(word="b", start=math.nan, end=math.inf, confidence=0.25),
        ]
    )
    assert [(w.start, w.end, w.confidence) for w in words] == [(1.0, 1.0, None), (1.0, 1.0, 0.25)]


def test_sanitize_rejects_malformed_dicts():
    with pytest.raises(pydantic.ValidationError):
        sanitize_words([{"word": "a", "start": "soon"}])


# --------------------------------------------------------------------------- grouping


def test_lines_respect_char_limit_and_keep_every_word():
    words = timed("the quick brown fox jumps over the lazy dog " * 6, step=0.1, duration=0.08)
    captions = grouped(words, max_chars_per_line=20, max_caption_s=60)
    assert all(len(line) <= 20 for caption in captions for line in caption.lines)
    assert all(len(caption.lines) <= 2 for caption in captions)
    assert " ".join(caption_texts(captions)) == " ".join(w.word for w in words)


def test_max_lines_one():
    captions = grouped(
        timed("one two three four five six seven eight nine ten " * 3), max_lines=1, max_chars_per_line=15
    )
    assert all(len(caption.lines) == 1 and len(caption.lines[0]) <= 15 for caption in captions)


def test_caption_duration_limit():
    captions = grouped(
        timed("slow words spoken one per second " * 3, step=1.0, duration=0.9), max_caption_s=3, pause_split_s=0.5
    )
    assert len(captions) > 1
    assert all(caption.end - caption.start <= 3 + 1e-9 for caption in captions)


def test_pause_longer_than_threshold_starts_new_caption():
    words = [*timed("one two", start=0.0), *timed("three four", start=1.4)]  # 0.7 s gap
    assert caption_texts(grouped(words, pause_split_s=0.5)) == ["one two", "three four"]
    assert caption_texts(grouped(words, pause_split_s=0.8)) == ["one two three four"]


def test_limit_split_moves_tail_after_sentence_end():
    captions = grouped(
        timed("I like it here. We should stay longer than we planned"), max_chars_per_line=30, max_lines=1
    )
    assert caption_texts(captions)[0] == "I like it here."


def test_limit_split_honours_closing_quotes():
    captions = grouped(
        timed("He shouted “stop it now!” and everyone left the room quickly"), max_chars_per_line=30, max_lines=1
    )
    assert caption_texts(captions)[0] == "He shouted “stop it now!”"


def test_limit_split_falls_back_to_clause_punctuation():
    captions = grouped(timed("When we arrived, the doors were all locked tight"), max_chars_per_line=32, max_lines=1)
    assert caption_texts(captions) == ["When we arrived,", "the doors were all locked tight"]


def test_limit_split_leaves_tiny_head_in_place():
    captions = grouped(timed("Yes. I think we should all go home now"), max_chars_per_line=30, max_lines=1)
    assert caption_texts(captions)[0] == "Yes. I think we should all go"


def test_sentence_end_closes_caption_holding_a_full_line():
    captions = grouped(timed("This sentence is long enough. Next one. And more."), max_chars_per_line=20)
    assert caption_texts(captions) == ["This sentence is long enough.", "Next one. And more."]


def test_short_sentences_share_a_caption():
    assert caption_texts(grouped(timed("Hi. Yes. Go on."))) == ["Hi. Yes. Go on."]


def test_lines_are_balanced_with_the_longer_line_at_the_bottom():
    (caption,) = grouped(timed("aaaa bbbb cccc dddd eeee"), max_chars_per_line=20)
    assert caption.lines == ["aaaa bbbb", "cccc dddd eeee"]


def test_word_longer_than_line_breaks_at_the_width():
    captions = grouped(timed("a supercalifragilistic b c"), max_chars_per_line=10, max_lines=2)
    lines = [line for caption in captions for line in caption.lines]
    assert "supercalif" in lines and "ragilistic" in lines
    assert all(len(line) <= 10 for line in lines) and all(len(caption.lines) <= 2 for caption in captions)


def test_word_longer_than_line_breaks_after_hyphens():
    word = "state-of-the-art-mother-in-law-free-for-all-mega-super-hyper-extra-long-word"  # 74 characters
    (caption,) = grouped(timed(word))
    assert caption.lines == ["state-of-the-art-mother-in-law-free-for-", "all-mega-super-hyper-extra-long-word"]
    _, _, files = render_all(timed(f"Say {word} now."))
    assert all(len(line) <= 42 for cue in srt.parse(files["srt"]) for line in cue.content.split("\n"))


def test_word_longer_than_max_duration_is_its_own_caption():
    words = [
        Word(word="before", start=0, end=0.4),
        Word(word="loooong", start=0.5, end=9.5),
        Word(word="after", start=9.6, end=10),
    ]
    assert caption_texts(grouped(words, max_caption_s=7)) == ["before", "loooong", "after"]


def test_caption_fields():
    captions = grouped(timed("one two. three four", start=1.0), max_chars_per_line=10, max_lines=1)
    assert [c.index for c in captions] == list(range(1, len(captions) + 1))
    assert captions[0].start == captions[0].words[0].start == 1.0
    assert captions[0].end == captions[1].start - 0.083  # extended up to the gap before the next one


# --------------------------------------------------------------------------- broadcast rules


def test_short_caption_is_extended_into_the_silence_after_it():
    words = [Word(word="Yes.", start=1.0, end=1.2), Word(word="Then", start=4.0, end=4.3)]
    first, second = grouped(words)
    assert (first.start, first.end) == (1.0, 1.833)  # 5/6 s
    assert second.end == 4.833  # the last caption too


def test_extension_stops_two_frames_before_the_next_caption():
    words = [Word(word="Yes.", start=1.0, end=1.2), Word(word="No.", start=1.8, end=2.0)]
    first, _ = grouped(words, pause_split_s=0.5)
    assert first.end == 1.717


def test_back_to_back_captions_keep_a_two_frame_gap():
    words = timed("one two three four five six seven eight nine ten eleven twelve", step=0.3, duration=0.3)
    captions = grouped(words, max_chars_per_line=15, max_lines=1)
    assert len(captions) > 2
    for previous, caption in zip(captions, captions[1:], strict=False):
        assert round(caption.start - previous.end, 3) == 0.083


def test_min_gap_and_min_duration_are_options():
    words = [Word(word="Yes.", start=1.0, end=1.2), Word(word="No.", start=2.0, end=2.2)]
    first, _ = grouped(words, min_caption_s=0.5, min_gap_s=0.0)
    assert first.end == 1.5
    first, _ = grouped(words, min_caption_s=2.0, min_gap_s=0.25)
    assert first.end == 1.75
    (first, _) = grouped(words, min_caption_s=2.0, max_caption_s=0.6)  # min never exceeds max
    assert first.end == 1.6


def test_reading_speed_keeps_a_caption_up_into_the_pause():
    words = [
        *timed("Extraordinarily complicated vocabulary", step=0.2, duration=0.2),
        Word(word="Next", start=4, end=5),
    ]
    first = grouped(words)[0]
    assert " ".join(first.lines) == "Extraordinarily complicated vocabulary"
    assert first.end == 1.9  # 38 characters at 20 a second
    assert grouped(words, max_chars_per_s=30)[0].end == 1.267


def test_reading_speed_moves_a_forced_break():
    # One line cannot hold it all. Closing at the comma leaves "Absolutely unbelievable," 0.917 s to
    # be read (it needs 1.2 s at 20 characters a second); a plain break one word later is readable.
    words = timed("Absolutely unbelievable, she said to them all quietly", step=0.5, duration=0.5)
    options = {"max_chars_per_line": 30, "max_lines": 1}
    assert caption_texts(grouped(words, **options)) == ["Absolutely unbelievable, she", "said to them all quietly"]
    fast_readers = grouped(words, **options, max_chars_per_s=100)
    assert caption_texts(fast_readers) == ["Absolutely unbelievable,", "she said to them all quietly"]


def test_lines_break_after_punctuation():
    (caption,) = grouped(timed("When the rain stopped, everyone went outside to play"))
    assert caption.lines == ["When the rain stopped,", "everyone went outside to play"]


def test_lines_break_before_conjunctions_and_prepositions():
    (caption,) = grouped(timed("I bought some bread and butter from the shop on the corner"))
    assert caption.lines[1].split()[0] in {"and", "from", "on"}


def test_lines_never_break_between_article_or_adjective_and_noun():
    for text in (
        "We walked together all the way down to the harbour",
        "She gave the little dog a big bone to chew on today",
    ):
        for caption in grouped(timed(text), max_chars_per_line=30):
            assert caption.lines[0].split()[-1] not in {"the", "a", "little", "big"}, caption.lines


def test_smart_line_breaks_off_only_balances():
    text = "We walked together all the way down to the harbour today"
    assert grouped(timed(text))[0].lines == ["We walked together all the way", "down to the harbour today"]
    (caption,) = grouped(timed(text), smart_line_breaks=False)
    assert caption.lines == ["We walked together all the", "way down to the harbour today"]


def test_caption_is_not_closed_on_an_article():
    captions = grouped(timed("We went to see the big red house near the river"), max_chars_per_line=20, max_lines=1)
    assert all(caption.lines[-1].split()[-1] not in {"the", "a", "big"} for caption in captions), captions


def test_checker_catches_broken_rules():
    """The checker itself: a hand-written SRT breaking one rule at a time is refused."""
    good = "1\n00:00:00,000 --> 00:00:01,000\nHello there.\n\n2\n00:00:01,083 --> 00:00:02,000\nBye now.\n"
    check_timing_files({"srt": good})
    broken = {
        "gap": good.replace("00:00:01,083", "00:00:01,020"),
        "short": good.replace("00:00:01,000\nHello", "00:00:00,400\nHello"),
        "long line": good.replace("Hello there.", "x " * 30),
        "lines": good.replace("Hello there.", "a\nb\nc"),
        "article": good.replace("Bye now.", "Bye the\nend now."),
        "markup": good.replace("Hello there.", "<b>Hello</b>"),
        "brace": good.replace("Hello there.", "{Hello}"),
        "speed": good.replace("Bye now.", "Pneumonoultramicroscopic\nsilicovolcanoconiosis"),
    }
    for rule, text in broken.items():
        with pytest.raises(AssertionError):
            check_timing_files({"srt": text})
            pytest.fail(f"{rule}: not caught")


# --------------------------------------------------------------------------- formats read back


def assert_close(actual: float, expected: float, tolerance: float = ONE_MS) -> None:
    assert abs(actual - expected) <= tolerance, (actual, expected)


def test_srt_reads_back_with_srt_and_pysubs2():
    _, captions, files = render_all(timed(SAMPLE), max_chars_per_line=24)
    parsed = list(srt.parse(files["srt"]))
    assert len(parsed) == len(captions) > 1
    for cue, caption in zip(parsed, captions, strict=True):
        assert cue.index == caption.index
        assert cue.content.replace("\u2060", "") == "\n".join(caption.lines)
        assert_close(cue.start.total_seconds(), caption.start)
        assert_close(cue.end.total_seconds(), caption.end)
    events = pysubs2.SSAFile.from_string(files["srt"], format_="srt").events
    assert [(e.start / 1000, e.end / 1000) for e in events] == [(c.start, c.end) for c in captions]


def test_vtt_reads_back_with_webvtt():
    _, captions, files = render_all(timed(SAMPLE), max_chars_per_line=24)
    assert files["vtt"].startswith("WEBVTT\n\n")
    cues = webvtt.from_string(files["vtt"], strict=True)
    assert len(cues) == len(captions)
    for cue, caption in zip(cues, captions, strict=True):
        assert_close(Timestamp.from_string(cue.start).in_milliseconds() / 1000, caption.start)
        assert_close(Timestamp.from_string(cue.end).in_milliseconds() / 1000, caption.end)
        unescaped = [line.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for line in cue.lines]
        assert unescaped == caption.lines
    assert "R&amp;D &lt;team&gt;" in files["vtt"]


def test_ass_reads_back_with_style_and_resolution():
    _, captions, files = render_all(timed(SAMPLE), max_chars_per_line=24)
    subs = pysubs2.SSAFile.from_string(files["ass"])
    assert subs.info["PlayResX"] == "1920" and subs.info["PlayResY"] == "1080"
    style = subs.styles["Default"]
    assert style.fontsize >= 40 and style.outline > 0
    assert style.alignment == pysubs2.Alignment.BOTTOM_CENTER
    assert len(subs.events) == len(captions)
    for event, caption in zip(subs.events, captions, strict=True):
        assert event.style == "Default" and event.plaintext == "\n".join(caption.lines)
        assert_close(event.start / 1000, caption.start, ASS_TOLERANCE)
        assert_close(event.end / 1000, caption.end, ASS_TOLERANCE)


def test_csv_reads_back_with_csv_module():
    words = timed(SAMPLE)
    words[0] = words[0].model_copy(update={"confidence": 0.875})
    clean, _, files = render_all(words)
    rows = list(csv.DictReader(io.StringIO(files["csv"])))
    assert files["csv"].startswith("word,start,end,confidence\n")
    assert [row["word"] for row in rows] == [w.word for w in clean]
    assert rows[0]["confidence"] == "0.875" and rows[1]["confidence"] == ""
    for row, word in zip(rows, clean, strict=True):
        assert re.fullmatch(r"\d+\.\d{3}", row["start"]) and re.fullmatch(r"\d+\.\d{3}", row["end"])
        assert (float(row["start"]), float(row["end"])) == (word.start, word.end)


def test_json_reads_back():
    clean, captions, files = render_all(timed(SAMPLE), max_chars_per_line=24)
    data = json.loads(files["json"])
    assert data["words"] == [w.model_dump() for w in clean]
    assert [c["index"] for c in data["captions"]] == [c.index for c in captions]
    for record, caption in zip(data["captions"], captions, strict=True):
        span = data["words"][record["word_start"] : record["word_end"]]
        assert [w["word"] for w in span] == [w.word for w in caption.words]
        assert record["lines"] == caption.lines and record["text"] == "\n".join(caption.lines)
        assert (record["start"], record["end"]) == (caption.start, caption.end)
        assert record["start"] == span[0]["start"]
    assert data["captions"][-1]["word_end"] == len(clean)
    assert "£13.60." in files["json"]  # ensure_ascii=False keeps it readable


@pytest.mark.parametrize("fmt", TIMING_FORMATS)
def test_punctuation_and_unicode_survive(fmt):
    _, _, files = render_all(timed("naïve — £13.60. café, “quoted” 東京 emoji🙂"))
    for token in ("naïve", "—", "£13.60.", "café,", "“quoted”", "東京", "emoji🙂"):
        assert token in files[fmt]


def test_word_times_agree_across_formats():
    messy = [Word(word=w.word, start=w.start * 1.0003 + 0.00049, end=w.end + 0.2) for w in timed(SAMPLE)]
    clean, captions, files = render_all(messy)
    csv_times = [(float(r["start"]), float(r["end"])) for r in csv.DictReader(io.StringIO(files["csv"]))]
    json_times = [(w["start"], w["end"]) for w in json.loads(files["json"])["words"]]
    assert csv_times == json_times == [(w.start, w.end) for w in clean]
    srt_times = [(c.start.total_seconds(), c.end.total_seconds()) for c in srt.parse(files["srt"])]
    assert srt_times == [(c.start, c.end) for c in captions]


def test_special_characters_do_not_become_markup():
    _, captions, files = render_all(timed("R&D {brace} a\\Nb <i>x</i> {\\an8}"))
    assert pysubs2.SSAFile.from_string(files["ass"]).events[0].plaintext.count("\n") == 0
    assert list(srt.parse(files["srt"]))[0].content.count("\n") == len(captions[0].lines) - 1
    assert "(brace)" in files["ass"]
    # What FFmpeg's subrip decoder and libass show as typed (checked by rendering frames with ffmpeg).
    assert "\\{\u2060brace\\}" in files["srt"] and "<\u2060i\u2060>x<\u2060/i\u2060>" in files["srt"]
    assert "\\{\u2060\\an8\\}" in files["srt"] and "a\\\u2060Nb" in files["srt"]


# --------------------------------------------------------------------------- empty input


def test_empty_input_gives_valid_empty_files():
    files = render_timing_files([], TIMING_FORMATS, CaptionOptions())
    assert files["srt"] == "" and list(srt.parse(files["srt"])) == []
    assert files["vtt"].strip() == "WEBVTT" and len(webvtt.from_string(files["vtt"])) == 0
    subs = pysubs2.SSAFile.from_string(files["ass"])
    assert "Default" in subs.styles and len(subs.events) == 0 and "[Events]" in files["ass"]
    assert files["csv"] == "word,start,end,confidence\n"
    assert json.loads(files["json"]) == {"words": [], "captions": []}


def test_blank_words_only_is_empty():
    files = render_timing_files([{"word": " ", "start": 0, "end": 1}], ["json"], CaptionOptions())
    assert json.loads(files["json"]) == {"words": [], "captions": []}


# --------------------------------------------------------------------------- karaoke


def karaoke_sums(ass_text: str) -> list[tuple[int, int]]:
    """(sum of \\k centiseconds, event duration in centiseconds) per event."""
    events = pysubs2.SSAFile.from_string(ass_text).events
    return [(sum(int(k) for k in KARAOKE_TAG.findall(e.text)), (e.end - e.start) // 10) for e in events]


def test_karaoke_tags_sum_to_caption_duration():
    words = timed(SAMPLE, start=0.004, step=0.437, duration=0.211)
    _, captions, files = render_all(words, karaoke=True, max_chars_per_line=24)
    sums = karaoke_sums(files["ass"])
    assert len(sums) == len(captions) and all(total == duration for total, duration in sums)
    tags = KARAOKE_TAG.findall(pysubs2.SSAFile.from_string(files["ass"]).events[0].text)
    assert len(tags) == len(captions[0].words)


def test_karaoke_keeps_line_breaks_and_plain_text():
    _, captions, files = render_all(timed(SAMPLE), karaoke=True, max_chars_per_line=24)
    events = pysubs2.SSAFile.from_string(files["ass"]).events
    assert [e.plaintext for e in events] == ["\n".join(c.lines) for c in captions]


def test_no_karaoke_tags_by_default():
    _, _, files = render_all(timed(SAMPLE))
    assert not KARAOKE_TAG.search(files["ass"])


# --------------------------------------------------------------------------- dispatch


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError, match="unknown timing format 'txt'"):
        render_timing_file("txt", [], [], CaptionOptions())
    with pytest.raises(ValueError, match="'SRT'"):
        render_timing_files(timed("a b"), ["srt", "SRT"], CaptionOptions())


def test_content_types_cover_every_format():
    assert set(CONTENT_TYPES) == set(TIMING_FORMATS)
    assert CONTENT_TYPES["vtt"] == "text/vtt" and CONTENT_TYPES["srt"] == "application/x-subrip"


def test_render_only_requested_formats():
    assert set(render_timing_files(timed("a b"), ["vtt", "csv"], CaptionOptions())) == {"vtt", "csv"}


# --------------------------------------------------------------------------- properties

TOKEN = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=8),
    st.sampled_from(["Hello,", "world.", "£13.60.", "naïve", "—", "“yes!”", "R&D", "a" * 25]),
)
WORD = st.builds(
    Word,
    word=TOKEN,
    start=st.floats(-2, 120, allow_nan=False),
    end=st.floats(-2, 120, allow_nan=False),
    confidence=st.none() | st.floats(0, 1),
)
OPTIONS = st.builds(
    CaptionOptions,
    max_chars_per_line=st.integers(10, 60),
    max_lines=st.integers(1, 4),
    max_caption_s=st.floats(0.5, 60),
    pause_split_s=st.floats(0.05, 10),
    min_caption_s=st.floats(0, 10),
    max_chars_per_s=st.floats(5, 100),
    min_gap_s=st.floats(0, 1),
    smart_line_breaks=st.booleans(),
    karaoke=st.booleans(),
)


def sorted_words(draw_words: list[Word]) -> list[Word]:
    """Mostly ordered input, like a real recogniser, so captions hold more than one word."""
    return sorted(draw_words, key=lambda word: word.start)


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(words=st.lists(WORD, max_size=60).map(sorted_words) | st.lists(WORD, max_size=30), options=OPTIONS)
def test_grouping_properties(words, options):
    clean = sanitize_words(words)
    captions = group_captions(clean, options)
    assert [w for caption in captions for w in caption.words] == clean
    for previous, caption in zip(captions, captions[1:], strict=False):
        assert previous.end <= caption.start
    for caption in captions:
        texts = [w.word for w in caption.words]
        assert 0 <= caption.start <= caption.end and caption.start == caption.words[0].start
        pieces = [piece for line in caption.layout for piece in line]
        rebuilt = ["".join(p.text for p in pieces if p.word == n) for n in range(len(texts))]
        assert rebuilt == texts and [p.word for p in pieces] == sorted(p.word for p in pieces)
        assert 1 <= len(caption.lines) <= options.max_lines or len(texts) == 1
        assert all(len(line) <= options.max_chars_per_line for line in caption.lines)
        span = caption.words[-1].end - caption.start
        assert caption.end - caption.start <= max(options.max_caption_s, span) + 0.0015
        if len(caption.words) > 1:
            assert span <= options.max_caption_s + 0.0015
            gaps = [b.start - a.end for a, b in zip(caption.words, caption.words[1:], strict=False)]
            assert max(gaps) <= options.pause_split_s + 0.0015


@PROPERTY_SETTINGS
@given(words=st.lists(WORD, max_size=40).map(sorted_words), options=OPTIONS)
def test_every_format_renders_consistent_times(words, options):
    files = render_timing_files(words, TIMING_FORMATS, options)
    captions = group_captions(sanitize_words(words), options)
    srt_cues = list(srt.parse(files["srt"]))
    vtt_cues = webvtt.from_string(files["vtt"], strict=True)
    ass_events = pysubs2.SSAFile.from_string(files["ass"]).events
    assert len(srt_cues) == len(vtt_cues) == len(ass_events) == len(captions)
    srt_times = [(c.start.total_seconds(), c.end.total_seconds()) for c in srt_cues]
    assert srt_times == [(c.start, c.end) for c in captions]
    starts = [Timestamp.from_string(c.start).in_milliseconds() for c in vtt_cues]
    assert starts == sorted(starts)
    assert all(e.start <= e.end for e in ass_events)
    json_words = json.loads(files["json"])["words"]
    assert all(0 <= w["start"] <= w["end"] for w in json_words)
    assert len(list(csv.DictReader(io.StringIO(files["csv"])))) == len(json_words)
    if options.karaoke:
        assert all(total == duration for total, duration in karaoke_sums(files["ass"]))


def speech_like(draw_tokens: list[tuple[str, float, float]]) -> list[Word]:
    """Words laid end to end with the drawn durations and gaps, as a recogniser would time speech."""
    words, clock = [], 0.0
    for text, duration, gap in draw_tokens:
        words.append(Word(word=text, start=round(clock, 3), end=round(clock + duration, 3)))
        clock += duration + gap
    return words


SPEECH_TOKEN = st.tuples(
    st.sampled_from(
        [
            *SAMPLE.split(),
            "the",
            "a",
            "and",
            "of",
            "state-of-the-art-mother-in-law-free-for-all",
            "Pneumonoultramicroscopicsilicovolcanoconiosis",
            "{\\an8}",
            "<b>x</b>",
        ]
    ),
    st.floats(0.12, 0.8),
    st.floats(0, 1.2),
)


@PROPERTY_SETTINGS
@given(tokens=st.lists(SPEECH_TOKEN, min_size=1, max_size=50), options=OPTIONS)
@example(  # found by CI: 7 characters stretched to 0.132 s for 53 a second, which ASS writes as 0.13 s
    tokens=[("£13.60.", 0.125, 0.0)],
    options=CaptionOptions(
        max_chars_per_line=10,
        max_lines=1,
        max_caption_s=1.0,
        max_chars_per_s=53.0,
        min_gap_s=0.0,
        pause_split_s=1.0,
        min_caption_s=0.0,
        smart_line_breaks=False,
        karaoke=False,
    ),
)
def test_speech_like_input_meets_every_caption_rule(tokens, options):
    check_timing_files(render_timing_files(speech_like(tokens), TIMING_FORMATS, options), options)


def test_a_pause_tag_ends_the_caption_even_when_its_silence_is_short():
    """'[pause 0.2s]' (the word before carries pause_after) breaks where a 0.2 s gap alone would not."""
    words = [
        Word(word="Wait", start=0.0, end=0.4, pause_after=0.2),
        Word(word="for", start=0.6, end=0.8),
        Word(word="it.", start=0.8, end=1.2),
    ]
    options = CaptionOptions()
    paused = group_captions(sanitize_words(words), options)
    assert [caption.lines for caption in paused] == [["Wait"], ["for it."]]
    plain = group_captions(sanitize_words([word.model_copy(update={"pause_after": None}) for word in words]), options)
    assert [caption.lines for caption in plain] == [["Wait for it."]]
    assert "pause_after" in words[0].model_dump() and "pause_after" not in words[1].model_dump()
    check_timing_files(render_timing_files(words, TIMING_FORMATS, options), options)
