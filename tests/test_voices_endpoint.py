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


def _racing(ctx, monkeypatch, when_writing: str, action):
    """Run ``action`` (another job) just before the upload writes ``when_writing``."""
    put, create = ctx.storage.put_bytes, ctx.storage.create_exclusive
    fired = []

    def first(key):
        if key == when_writing and not fired:
            fired.append(key)
            action()

    monkeypatch.setattr(ctx.storage, "put_bytes", lambda key, *a, **k: (first(key), put(key, *a, **k))[1])
    monkeypatch.setattr(ctx.storage, "create_exclusive", lambda key, *a, **k: (first(key), create(key, *a, **k))[1])
    return fired


def _agree(ctx, name):
    """The listing and the exists-check of a new upload say the same about ``name``."""
    listed = any(voice["name"] == name for voice in voices(ctx, action="list")["voices"])
    keys = ctx.storage.list_keys(f"voices/{name}.")
    assert listed == any(key.endswith((".wav", ".mp3", ".flac")) for key in keys), keys
    assert listed or keys == [], f"half a voice left: {keys}"
    return listed


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_delete_racing_an_upload_never_leaves_half_a_voice(local_ctx, speech, monkeypatch, overwrite):
    if overwrite:
        voices(local_ctx, action="upload", name="race", audio=b64(speech), text="An older text.")
    deleted = []
    _racing(
        local_ctx,
        monkeypatch,
        "voices/race.txt",
        lambda: deleted.append(voices(local_ctx, action="delete", name="race")),
    )
    result = voices(
        local_ctx, action="upload", name="race", audio=b64(speech), text="A voice that says words.", overwrite=overwrite
    )
    assert deleted and "deleted" in deleted[0], deleted
    assert result["error"].startswith("storage_error: name: voice 'race' was deleted by another job"), result
    monkeypatch.undo()
    assert not _agree(local_ctx, "race")
    again = voices(local_ctx, action="upload", name="race", audio=b64(speech), text="A voice that says words.")
    assert again["name"] == "race" and _agree(local_ctx, "race")


def test_text_left_without_audio_does_not_take_the_name(local_ctx, speech):
    """What an earlier race or crash left: text, no audio. Unlisted, so a new upload may take the name."""
    local_ctx.storage.put_bytes("voices/orphan.txt", b"Old words.")
    local_ctx.storage.put_bytes("voices/orphan.json", b'{"text": "Older words."}')
    assert not any(voice["name"] == "orphan" for voice in voices(local_ctx, action="list")["voices"])
    uploaded = voices(local_ctx, action="upload", name="orphan", audio=b64(speech))
    assert uploaded["replaced"] is False and uploaded["text_key"] is None
    assert local_ctx.storage.list_keys("voices/orphan.") == ["voices/orphan.wav"]  # no stale text kept
    assert _agree(local_ctx, "orphan")


def test_a_delete_removes_the_audio_first(local_ctx, speech, monkeypatch):
    voices(local_ctx, action="upload", name="order", audio=b64(speech), text="A voice that says words.")
    order = []
    delete = local_ctx.storage.delete
    monkeypatch.setattr(local_ctx.storage, "delete", lambda key: (order.append(key), delete(key)))
    voices(local_ctx, action="delete", name="order")
    assert order == ["voices/order.wav", "voices/order.txt"]


def test_odd_local_file_names_and_links_do_not_break_the_voices_list(local_ctx, speech, tmp_path):
    """A name ending in a newline, a newline inside a name, a link out of the storage folder."""
    voices(local_ctx, action="upload", name="good", audio=b64(speech))
    root = local_ctx.storage.root
    (root / "voices/nl.wav\n").write_bytes(speech.read_bytes())
    (root / "voices/nl\n.wav").write_bytes(speech.read_bytes())
    (root / "voices/nl\n.txt").write_bytes(b"words")
    (tmp_path / "secret.wav").write_bytes(speech.read_bytes())
    (root / "voices/escape.wav").symlink_to(tmp_path / "secret.wav")
    listed = voices(local_ctx, action="list")
    assert [voice["name"] for voice in listed["voices"]] == ["good"], listed
    assert sorted(item["key"] for item in listed["skipped"]) == [
        "voices/nl\n.txt",
        "voices/nl\n.wav",
        "voices/nl.wav\n",
    ]
    for key in ("voices/nl.wav\n", "voices/nl\n.wav"):
        assert voices(local_ctx, action="delete", key=key)["deleted"] == [key]
    assert voices(local_ctx, action="upload", name="escape", audio=b64(speech))["error"].startswith("storage_error")
    assert handle_job({"id": "t", "input": {"endpoint": "tts", "text": "Hi.", "voice": "escape"}}, local_ctx)[
        "error"
    ].startswith(("not_found", "engine_unavailable", "storage_error"))
