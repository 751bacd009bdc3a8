"""Inputs that used to reach ``internal_error``: each is now a clear ``invalid_input`` (or a skipped
entry), and the worker serves a good job right after.

Through ``handle_job`` with the tiny F5-TTS and tiny.en loaded; stored voices are placed straight into
the storage, as API.md allows callers to do with their bucket.
"""

from __future__ import annotations

import pytest

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.settings import Settings
from f5worker.storage.s3 import S3Storage
from tests.helpers import espeak_wav

REFERENCE_TEXT = "This is the reference voice that the tests clone today."


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return espeak_wav(REFERENCE_TEXT, tmp_path_factory.mktemp("ref") / "narrator.wav").read_bytes()


@pytest.fixture
def ctx(tmp_path, engines, reference):
    ctx = build_context(Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache"), engines=engines)
    ctx.storage.put_bytes("voices/narrator.wav", reference)
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    return ctx


def job(ctx, **fields) -> dict:
    return handle_job(
        {"id": "refused", "input": {"endpoint": "tts", "nfe_step": 4, "voice": "narrator", **fields}}, ctx
    )


def good_job(ctx) -> None:
    output = handle_job(
        {"id": "good", "input": {"endpoint": "tts", "nfe_step": 4, "voice": "narrator", "text": "Fine again."}}, ctx
    )
    assert output["audio"]["duration_s"] > 0, output


@pytest.mark.parametrize(
    "text",
    [
        "1" * 4301,
        "$" + "9" * 4999,
        "9" * 4400 + "th",
        "1." + "2" * 4500,
        "-" + "3" * 4400 + "%",
        "£" + "1" * 4350 + ".50",
        "7" * 1300,
    ],
    ids=["4301-digits", "dollars-4999-nines", "ordinal", "decimal", "percent", "pounds", "spelt-past-the-limit"],
)
def test_long_digit_runs_are_invalid_input(ctx, text):
    error = job(ctx, text=text)["error"]
    assert error.startswith("invalid_input: text: spelt out for speech"), error
    assert ctx.storage.list_keys("outputs/") == []
    good_job(ctx)


@pytest.mark.parametrize(
    "text",
    ["...!!!???", "\u200b\u200b\u200b", "\u200d\ufeff\u2060", " - -- --- ", "¡¿…", "😀🎉", "$ % & *", "\u0301\u0301"],
)
def test_text_with_nothing_to_speak_is_refused_like_whitespace(ctx, text):
    for normalize in (True, False):
        error = job(ctx, text=text, normalize_text=normalize)["error"]
        assert error.startswith("invalid_input: text: contains no words to speak"), error
    good_job(ctx)


@pytest.mark.parametrize(
    "body", [b"[1, 2, 3]", b"null", b'"just a string"', b"42", b'{"text": 5}', b"[" * 5000, b"\xff\xfe not utf-8"]
)
def test_stored_json_reference_text_that_is_not_an_object_is_invalid_input(ctx, reference, body):
    ctx.storage.put_bytes("voices/jsonvoice.wav", reference)
    ctx.storage.put_bytes("voices/jsonvoice.json", body)
    error = job(ctx, voice="jsonvoice", text="Hello.")["error"]
    assert error.startswith("invalid_input: voice: reference text voices/jsonvoice.json is unreadable"), error
    good_job(ctx)


def test_a_badly_named_object_is_skipped_by_list_and_deletable_by_key(ctx, reference, moto_endpoint, bucket):
    s3_ctx = build_context(
        Settings(
            aws_s3_bucket=bucket,
            aws_access_key_id="k",
            aws_secret_access_key="s",
            aws_endpoint_url=moto_endpoint,
            aws_default_region="us-east-1",
            voice_cache_dir=ctx.settings.voice_cache_dir,
        ),
        engines=ctx.engines,
    )
    assert isinstance(s3_ctx.storage, S3Storage)
    s3_ctx.storage.put_bytes("voices/narrator.wav", reference)
    bad = ["voices/Bad Name.wav", "voices/ü-name.txt", "voices/a/b.wav", "voices/x.wav.bak"]
    for backend in (ctx, s3_ctx):
        for key in bad:
            if backend is s3_ctx:
                backend.storage.client.put_object(Bucket=bucket, Key=key, Body=reference)
            else:
                path = backend.storage.root / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(reference)
        listed = handle_job({"id": "l", "input": {"endpoint": "voices", "action": "list"}}, backend)
        assert [voice["name"] for voice in listed["voices"]] == ["narrator"], listed
        assert sorted(entry["key"] for entry in listed["skipped"]) == sorted(bad)
        for key in bad:
            deleted = handle_job({"id": "d", "input": {"endpoint": "voices", "action": "delete", "key": key}}, backend)
            assert deleted == {"key": key, "deleted": [key]}, deleted
        after = handle_job({"id": "l", "input": {"endpoint": "voices", "action": "list"}}, backend)
        assert after == {
            "voices": [
                {
                    "name": "narrator",
                    "audio_key": "voices/narrator.wav",
                    "duration_s": after["voices"][0]["duration_s"],
                    "has_text": backend is ctx,
                    "text_key": "voices/narrator.txt" if backend is ctx else None,
                    "tag": "[narrator]",
                    "presets": {},
                }
            ]
        }
        missing = handle_job(
            {"id": "d", "input": {"endpoint": "voices", "action": "delete", "key": "voices/nope x"}}, backend
        )
        assert missing["error"].startswith("not_found: key: ")
        outside = handle_job(
            {"id": "d", "input": {"endpoint": "voices", "action": "delete", "key": "outputs/../x.wav"}}, backend
        )
        assert outside["error"].startswith("not_found: key: ")
    good_job(ctx)
