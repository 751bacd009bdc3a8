import pytest
from pydantic import ValidationError

from f5worker.schemas import DownloadRequest, TtsRequest, describe_validation_error


def message_for(payload: dict) -> str:
    with pytest.raises(ValidationError) as info:
        DownloadRequest.model_validate(payload)
    return describe_validation_error(info.value, DownloadRequest)


def test_messages_name_the_field_and_what_was_expected():
    base = {"endpoint": "download", "job_id": "j1", "file": "srt"}
    assert message_for({**base, "job_id": 5}) == "job_id: expected a string (got integer)"
    assert message_for({**base, "file": "mp4"}).startswith("file: expected one of 'audio', 'srt'")
    assert "got 'mp4'" in message_for({**base, "file": "mp4"})
    assert message_for({**base, "job_id": "../x"}).startswith("job_id: must match")
    assert message_for({"endpoint": "download", "file": "srt"}) == "job_id: required field is missing"
    unknown = message_for({**base, "colour": "red"})
    assert unknown.startswith("colour: unknown field") and "job_id" in unknown


def test_long_or_secret_values_are_not_echoed():
    message = message_for({"endpoint": "download", "job_id": "j", "file": "x" * 500})
    assert "x" * 41 not in message


def test_many_errors_are_summarised():
    message = message_for({"endpoint": "download", "job_id": 1, "file": 2, "delivery": 3, "a": 1, "b": 2})
    assert message.endswith("more")


def test_strict_types_refuse_coercion():
    with pytest.raises(ValidationError):
        DownloadRequest.model_validate({"endpoint": "download", "job_id": "j", "file": "srt", "delivery": True})


@pytest.mark.parametrize("option", [
    {"karaoke": True}, {"timing_formats": ["srt"]}, {"max_chars_per_line": 32}, {"delivery": "text"},
    {"timing_engine": "google"}, {"min_gap_s": 0.1},
])  # fmt: skip
def test_tts_timing_options_without_timings_are_refused(option):
    base = {"endpoint": "tts", "text": "hi", "voice": "narrator"}
    with pytest.raises(ValidationError) as info:
        TtsRequest.model_validate({**base, **option})
    name = next(iter(option))
    assert describe_validation_error(info.value, TtsRequest) == (
        f"{name}: {name} applies only to word timings; set return_word_timings: true, or leave it out")
    assert TtsRequest.model_validate({**base, **option, "return_word_timings": True})


def test_tts_names_every_timing_option_given_without_timings():
    with pytest.raises(ValidationError) as info:
        TtsRequest.model_validate({"endpoint": "tts", "text": "hi", "voice": "v", "karaoke": False,
                                   "timing_formats": ["srt"], "return_word_timings": False})  # fmt: skip
    assert "karaoke, timing_formats apply only to word timings" in describe_validation_error(info.value, TtsRequest)
