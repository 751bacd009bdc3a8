import json

import pytest

from f5worker.dispatch import handle_job
from f5worker.errors import MAX_MESSAGE_CHARS, InvalidInput, shown

HUGE = int("7" * 4000)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("narrator", "'narrator'"),
        ("", "an empty string"),
        ("x" * 41, "a string of 41 characters"),
        (12345, "12345"),
        (-(2**127), str(-(2**127))),
        (HUGE, "an integer of about 4000 digits"),
        (-HUGE, "an integer of about 4000 digits"),
        (9 * 10**4999, "an integer of about 5000 digits"),  # past Python's 4300-digit str() limit
        (2.5, "2.5"),
        (True, "a boolean"),
        (None, "null"),
        ([1, 2], "an array"),
        ({"a": 1}, "an object"),
    ],
    ids=lambda item: type(item).__name__,  # a 5,000-digit id would not print
)
def test_shown_echoes_short_values_and_describes_long_ones(value, expected):
    assert shown(value) == expected


def test_every_message_is_bounded_whatever_it_holds():
    message = InvalidInput("text: " + "y" * 10_000).message
    assert len(message) == MAX_MESSAGE_CHARS and message.endswith("...")


@pytest.mark.parametrize(
    "fields",
    [
        {"endpoint": "tts", "text": "Hi.", "voice": "v", "sample_rate": HUGE},
        {"endpoint": "tts", "text": "Hi.", "voice": "v", "seed": HUGE},
        {"endpoint": "tts", "text": "Hi.", "voice": "v", "nfe_step": -HUGE},
        {"endpoint": "tts", "text": "Hi.", "voice": "v", "max_lines": HUGE, "return_word_timings": True},
        {"endpoint": HUGE},
        {"endpoint": "z" * 5000},
        {"endpoint": "stt", "audio": "voices/" + "a" * 5000 + ".wav"},
        {"endpoint": "voices", "action": "delete", "key": "voices/" + "b" * 1000},
    ],
    ids=lambda fields: "-".join(fields),
)
def test_a_huge_value_is_never_echoed_whole(local_ctx, fields):
    """A 4,000-digit number (or a 5,000-character string) comes back described, not spelt out."""
    error = handle_job({"id": "echo", "input": json.loads(json.dumps(fields))}, local_ctx)["error"]
    assert not error.startswith("internal_error"), error
    assert (
        "7777777777" not in error and "aaaaaaaaaa" not in error and "bbbbbbbbbb" not in error and "zzzzz" not in error
    )
    assert len(error) < 400, error


def test_a_long_job_id_is_described_in_not_found(local_ctx):
    job_id = "j" * 128  # a valid id, yet too long to echo
    for fields in ({"endpoint": "result"}, {"endpoint": "download", "file": "srt"}):
        error = handle_job({"id": "x", "input": {**fields, "job_id": job_id}}, local_ctx)["error"]
        assert error.startswith("not_found: ") and job_id not in error and "a string of 128 characters" in error
