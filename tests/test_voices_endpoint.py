"""The ``voices`` endpoint: list, upload (with checks), delete."""

import base64

import pytest

from f5worker.dispatch import handle_job
from tests.helpers import espeak_wav


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return espeak_wav("A voice that says a few words for the list.", tmp_path_factory.mktemp("v") / "v.wav")


def voices(ctx, **fields):
    return handle_job({"id": "v", "input": {"endpoint": "voices", **fields}}, ctx)


def b64(path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_upload_list_overwrite_delete(local_ctx, speech):
    uploaded = voices(local_ctx, action="upload", name="host", audio=b64(speech), text="A voice that says words.")
    assert uploaded["audio_key"] == "voices/host.wav" and uploaded["text_key"] == "voices/host.txt"
    assert 1.0 < uploaded["duration_s"] <= 12.0
    listed = voices(local_ctx, action="list")["voices"]
    assert listed == [
        {
            "name": "host",
            "audio_key": "voices/host.wav",
            "duration_s": uploaded["duration_s"],
            "has_text": True,
            "text_key": "voices/host.txt",
            "tag": "[host]",
            "presets": {},
        }
    ]
    refused = voices(local_ctx, action="upload", name="host", audio=b64(speech))
    assert refused["error"].startswith("invalid_input: name: voice 'host' exists")
    replaced = voices(local_ctx, action="upload", name="host", audio=b64(speech), overwrite=True)
    assert replaced["replaced"] is True and replaced["text_key"] is None
    assert not local_ctx.storage.exists("voices/host.txt")
    deleted = voices(local_ctx, action="delete", name="host")
    assert deleted["deleted"] == ["voices/host.wav"]
    assert voices(local_ctx, action="list") == {"voices": []}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"action": "rename"}, "invalid_input: action: expected one of"),
        ({"action": "upload", "audio": "AAAA"}, "invalid_input: name: required for action 'upload'"),
        ({"action": "upload", "name": "x"}, "invalid_input: audio: required for action 'upload'"),
        ({"action": "upload", "name": "bad name!", "audio": "AAAA"}, "invalid_input: name: must match"),
        ({"action": "upload", "name": "n" * 65, "audio": "AAAA"}, "invalid_input: name: must match"),
        ({"action": "upload", "name": "x", "audio": "bm90IGF1ZGlv"}, "invalid_input: audio: not decodable audio"),
        ({"action": "delete", "name": "ghost"}, "not_found: name: no stored voice named 'ghost'"),
    ],
)
def test_bad_requests(local_ctx, fields, expected):
    assert voices(local_ctx, **fields)["error"].startswith(expected)
    assert local_ctx.storage.list_keys("voices/") == []


def test_too_short_upload_is_refused(local_ctx, tmp_path):
    short = espeak_wav("Hi.", tmp_path / "short.wav")
    assert voices(local_ctx, action="upload", name="s", audio=b64(short))["error"].startswith("invalid_input: audio:")
