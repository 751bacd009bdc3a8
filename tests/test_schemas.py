import pytest
from pydantic import ValidationError

from f5worker.dispatch import parse_request
from f5worker.errors import InvalidInput, PayloadTooLarge
from f5worker.media.dialogue import parse_tagged_text
from f5worker.schemas import (
    MAX_TURNS,
    DownloadRequest,
    SttRequest,
    TtsRequest,
    VoicesRequest,
    describe_validation_error,
)
from f5worker.settings import Settings
from f5worker.words import CONTENT_TYPES, TIMING_FORMATS

TTS = {"endpoint": "tts", "text": "Hello.", "voice": "narrator"}
VOICE_UPLOAD = {"endpoint": "voices", "action": "upload", "name": "v", "audio": "eA=="}


def message_for(payload: dict, model=DownloadRequest) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(payload)
    return describe_validation_error(info.value, model)


def test_messages_name_the_field_and_what_was_expected():
    base = {"endpoint": "download", "job_id": "j1", "file": "srt"}
    assert message_for({**base, "job_id": 5}) == "job_id: expected a string (got an integer)"
    assert message_for({**base, "file": "mp4"}).startswith("file: expected one of 'audio', 'srt'")
    assert message_for({**base, "file": "mp4"}).endswith("(got 'mp4')")
    assert message_for({**base, "file": 4}).endswith("(got an integer)")
    assert message_for({**base, "job_id": "../x"}).startswith("job_id: must match")
    assert message_for({"endpoint": "download", "file": "srt"}) == "job_id: required field is missing"


def test_an_unknown_field_gets_the_closest_name_and_no_list():
    message = message_for({**TTS, "formats": ["srt"]}, TtsRequest)
    assert message == "formats: unknown field; did you mean 'timing_formats'?"


def test_unknown_fields_without_a_close_name_list_the_accepted_fields_once():
    message = message_for({**TTS, "colour": "red", "flavour": 1, "spead": 2}, TtsRequest)
    assert "spead: unknown field; did you mean 'speed'?" in message
    assert message.count("timing_formats") == 1
    assert message.count("accepted fields:") == 1
    assert len(message) < 600, message


def test_a_number_sent_as_a_string_says_the_type_is_wrong():
    assert message_for({**TTS, "sample_rate": "44100"}, TtsRequest) == "sample_rate: expected an integer (got a string)"
    assert message_for({**TTS, "sample_rate": 12345}, TtsRequest).endswith("or 48000 (got 12345)")
    assert message_for({**TTS, "speed": "2"}, TtsRequest) == "speed: expected a number (got a string)"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"speed": 3.5}, "speed: expected a number from 0.3 to 3.0 (got 3.5)"),
        ({"nfe_step": 65}, "nfe_step: expected an integer from 4 to 64 (got 65)"),
        ({"target_rms": 0.0}, "target_rms: expected a number more than 0.0 and at most 1.0 (got 0.0)"),
        ({"text": ""}, "text: expected at least 1 character (got an empty string)"),
        ({"text": " \n "}, "text: contains no words to speak"),
        ({"ref_text": ""}, "ref_text: expected at least 1 character (got an empty string)"),
        ({"timing_formats": ["srt"] * 6}, "timing_formats: expected at most 5 items (got 6)"),
        ({"timing_formats": ["srt", "vtt", "srt"]}, "timing_formats: expected each value once (got 'srt' twice)"),
        ({"max_lines": 0}, "max_lines: expected an integer from 1 to 4 (got 0)"),
    ],
)
def test_range_and_length_errors_say_what_was_expected(fields, expected):
    assert message_for({**TTS, **fields}, TtsRequest) == expected


def test_text_limit_comes_from_the_settings_in_the_validation_context(tmp_path):
    settings = Settings(storage_dir=tmp_path, max_text_chars=10)
    with pytest.raises(PayloadTooLarge, match=r"^text: 11 characters, over the 10-character limit \(MAX_TEXT_CHARS\)$"):
        parse_request({**TTS, "text": "x" * 11}, settings)
    with pytest.raises(PayloadTooLarge, match="^text: 11 characters"):
        parse_request({"endpoint": "stt", "audio": "x", "text": "x" * 11}, settings)
    assert parse_request({**TTS, "text": "x" * 10}, settings)[1].text == "x" * 10
    # A malformed field beside an over-long text is a malformed request, not a size problem.
    with pytest.raises(InvalidInput, match="speed"):
        parse_request({**TTS, "text": "x" * 11, "speed": 9.0}, settings)


def test_timing_formats_come_from_one_tuple():
    assert tuple(CONTENT_TYPES) == TIMING_FORMATS
    assert SttRequest(endpoint="stt", audio="x").timing_formats == list(TIMING_FORMATS)
    for fmt in TIMING_FORMATS:
        assert DownloadRequest(endpoint="download", job_id="j", file=fmt).file == fmt
    assert message_for({"endpoint": "download", "job_id": "j", "file": "txt"}).startswith(
        "file: expected one of 'audio', " + ", ".join(f"'{fmt}'" for fmt in TIMING_FORMATS[:-1])
    )


def test_long_or_secret_values_are_not_echoed():
    message = message_for({"endpoint": "download", "job_id": "j", "file": "x" * 500})
    assert "x" * 41 not in message
    assert "secret-value" not in message_for({**TTS, "speed": "secret-value"}, TtsRequest)
    assert len(message_for({**TTS, "k" * 100_000: 1}, TtsRequest)) < 600


def test_many_errors_are_summarised():
    message = message_for({"endpoint": "download", "job_id": 1, "file": 2, "delivery": 3, "a": 1, "b": 2})
    assert "and 2 more" in message


def test_strict_types_refuse_coercion():
    with pytest.raises(ValidationError):
        DownloadRequest.model_validate({"endpoint": "download", "job_id": "j", "file": "srt", "delivery": True})


@pytest.mark.parametrize(
    "option",
    [
        {"karaoke": True},
        {"timing_formats": ["srt"]},
        {"max_chars_per_line": 32},
        {"delivery": "text"},
        {"timing_engine": "google"},
        {"min_gap_s": 0.1},
    ],
)
def test_tts_timing_options_without_timings_are_refused(option):
    base = {"endpoint": "tts", "text": "hi", "voice": "narrator"}
    with pytest.raises(ValidationError) as info:
        TtsRequest.model_validate({**base, **option})
    name = next(iter(option))
    assert describe_validation_error(info.value, TtsRequest) == (
        f"{name}: {name} applies only to word timings; set return_word_timings: true, or leave it out"
    )
    assert TtsRequest.model_validate({**base, **option, "return_word_timings": True})


def test_tts_names_every_timing_option_given_without_timings():
    with pytest.raises(ValidationError) as info:
        TtsRequest.model_validate(
            {
                "endpoint": "tts",
                "text": "hi",
                "voice": "v",
                "karaoke": False,
                "timing_formats": ["srt"],
                "return_word_timings": False,
            }
        )
    assert "karaoke, timing_formats apply only to word timings" in describe_validation_error(info.value, TtsRequest)


@pytest.mark.parametrize(
    "blank", [" ", "\t\n", "\u3000", "\u00a0\u2003", "\u2028\u2029", "\u200b\ufeff", " \u180e \u2060 ", "\x0b\x1c"]
)
@pytest.mark.parametrize(
    ("fields", "schema", "field"),
    [(TTS, TtsRequest, "ref_text"), (VOICE_UPLOAD, VoicesRequest, "text")],
)
def test_blank_reference_text_is_refused_naming_the_field(blank, fields, schema, field):
    """Whitespace of any kind (ideographic, no-break, line separators) or only invisible characters."""
    message = message_for({**fields, field: blank}, schema)
    assert message == f"{field}: contains only spaces or invisible characters; give the words or leave it out"
    with pytest.raises(InvalidInput, match=f"^{field}: contains only spaces"):
        parse_request({**fields, field: blank})


@pytest.mark.parametrize(
    "turn",
    ["[a] Hi. ", "[ a ]\nHi.\n", "[narrator] x [guest] y ", "[a]\u3000Hi\u3000"],
)
def test_tagged_dialogue_text_has_the_same_turn_limit_as_segments(turn):
    per_copy = turn.count("[")
    fits = turn * (MAX_TURNS // per_copy)
    assert TtsRequest.model_validate({"endpoint": "tts", "text": fits}).is_multi_voice
    over = fits + turn
    message = message_for({"endpoint": "tts", "text": over}, TtsRequest)
    turns = len(parse_tagged_text(over))
    assert message == f"text: {turns} voice turns, over the {MAX_TURNS}-turn limit (the same as 'segments')"
    with pytest.raises(InvalidInput, match="turn limit"):
        parse_request({"endpoint": "tts", "text": over})
    assert message_for({"endpoint": "tts", "segments": [{"voice": "a", "text": "Hi."}] * (MAX_TURNS + 1)}, TtsRequest)


def test_tags_with_no_words_are_not_turns():
    assert TtsRequest.model_validate({"endpoint": "tts", "text": "[a] Hi. " + "[b]" * 500})
