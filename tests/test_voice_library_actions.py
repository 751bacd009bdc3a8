"""The voices endpoint's lexicons, aliases and presets, through ``handle_job`` on local disk and moto's S3."""

from __future__ import annotations

import threading

import pytest

from f5worker.dispatch import handle_job
from tests.conftest import NARRATOR_TEXT

RACERS = 6


def job(ctx, **fields) -> dict:
    return handle_job({"id": "lib", "input": {"endpoint": "voices", **fields}}, ctx)


@pytest.fixture(params=["local_ctx", "s3_ctx"])
def ctx(request, narrator_wav):
    """A context with the stored voice 'narrator' (audio and text), on each backend."""
    context = request.getfixturevalue(request.param)
    context.storage.put_bytes("voices/narrator.wav", narrator_wav.read_bytes())
    context.storage.put_bytes("voices/narrator.txt", NARRATOR_TEXT.encode())
    return context


def test_lexicon_upload_list_replace_delete(ctx):
    made = job(ctx, action="upload_lexicon", name="brands", entries={"GIF": "jif", "sql": "sequel"})
    assert made == {"name": "brands", "key": "lexicons/brands.json", "entries": 2, "replaced": False}
    assert job(ctx, action="lexicons") == {
        "lexicons": [{"name": "brands", "key": "lexicons/brands.json", "entries": 2}]
    }
    again = job(ctx, action="upload_lexicon", name="brands", entries={"GIF": "gif"})
    assert again == {"error": "invalid_input: name: lexicon 'brands' exists; use overwrite: true to replace it"}
    replaced = job(ctx, action="upload_lexicon", name="brands", entries={"GIF": "gif"}, overwrite=True)
    assert replaced["replaced"] is True and replaced["entries"] == 1
    assert job(ctx, action="delete_lexicon", name="brands") == {"name": "brands", "deleted": ["lexicons/brands.json"]}
    assert job(ctx, action="lexicons") == {"lexicons": []}
    assert job(ctx, action="delete_lexicon", name="brands")["error"].startswith("not_found: name: no stored lexicon")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"action": "upload_lexicon", "name": "x"}, "invalid_input: entries: required for action 'upload_lexicon'"),
        (
            {"action": "upload_lexicon", "name": "x", "entries": {"two words": "x"}},
            "invalid_input: entries: entry 'two words': one word per entry",
        ),
        (
            {"action": "upload_lexicon", "name": "x", "entries": {"GIF": 1}},
            "invalid_input: entries.GIF: expected a string",
        ),
        ({"action": "list", "entries": {"a": "b"}}, "invalid_input: entries: applies only to action 'upload_lexicon'"),
        ({"action": "presets", "name": "narrator", "presets": {"speed": 9}}, "invalid_input: presets.speed: expected"),
        ({"action": "presets", "name": "narrator", "presets": {"nfe_step": 1.5}}, "invalid_input: presets.nfe_step:"),
        (
            {"action": "presets", "name": "narrator", "presets": {"language": "English"}},
            "invalid_input: presets.language",
        ),
        ({"action": "presets", "name": "narrator", "presets": {"lexicon": "nope"}}, "not_found: presets.lexicon:"),
        ({"action": "alias", "name": "calm"}, "invalid_input: alias_of: required for action 'alias'"),
        (
            {"action": "alias", "name": "calm", "alias_of": "ghost"},
            "not_found: alias_of: no stored voice named 'ghost'",
        ),
        ({"action": "alias", "name": "narrator", "alias_of": "narrator"}, "invalid_input: name: 'narrator' is a voice"),
        ({"action": "presets", "name": "ghost", "presets": {}}, "not_found: name: no stored voice named 'ghost'"),
    ],
)
def test_bad_library_requests_name_the_field(ctx, fields, error):
    output = job(ctx, **fields)
    assert output["error"].startswith(error), output


def test_an_alias_has_presets_of_its_own_and_no_audio(ctx):
    job(ctx, action="upload_lexicon", name="names", entries={"Okonkwo": "oh konk woh"})
    made = job(ctx, action="alias", name="calm", alias_of="narrator", presets={"speed": 0.8, "lexicon": "names"})
    assert made == {
        "name": "calm",
        "alias_of": "narrator",
        "audio_key": "voices/narrator.wav",
        "presets": {"speed": 0.8, "lexicon": "names"},
        "replaced": False,
    }
    assert ctx.storage.list_keys("voices/") == ["voices/narrator.txt", "voices/narrator.wav"]  # no second copy
    set_presets = job(ctx, action="presets", name="narrator", presets={"nfe_step": 16, "language": "en"})
    assert set_presets == {"name": "narrator", "alias_of": None, "presets": {"nfe_step": 16, "language": "en"}}
    listed = {voice["name"]: voice for voice in job(ctx, action="list")["voices"]}
    assert listed["narrator"]["presets"] == {"nfe_step": 16, "language": "en"}
    assert listed["calm"]["alias_of"] == "narrator" and listed["calm"]["audio_key"] == "voices/narrator.wav"
    assert listed["calm"]["presets"] == {"speed": 0.8, "lexicon": "names"}
    # the voice cannot go while an alias speaks with its audio; the alias can
    refused = job(ctx, action="delete", name="narrator")
    assert (
        refused["error"] == "invalid_input: name: voice 'narrator' is the audio of the aliases calm; delete them first"
    )
    assert job(ctx, action="delete", name="calm") == {"name": "calm", "deleted": ["voice-settings/calm.json"]}
    deleted = job(ctx, action="delete", name="narrator")
    assert sorted(deleted["deleted"]) == ["voice-settings/narrator.json", "voices/narrator.txt", "voices/narrator.wav"]


def race(ctx, fields_of) -> list[dict]:
    barrier = threading.Barrier(RACERS)
    outputs: list[dict] = [{}] * RACERS

    def upload(index: int) -> None:
        barrier.wait()
        outputs[index] = job(ctx, **fields_of(index))

    threads = [threading.Thread(target=upload, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outputs


def test_exactly_one_of_n_simultaneous_lexicon_uploads_wins(ctx):
    outputs = race(
        ctx, lambda index: {"action": "upload_lexicon", "name": "contested", "entries": {"GIF": f"jif{index}"}}
    )
    winners = [index for index, output in enumerate(outputs) if "error" not in output]
    assert len(winners) == 1, outputs
    refused = "invalid_input: name: lexicon 'contested' exists; use overwrite: true to replace it"
    assert [output["error"] for index, output in enumerate(outputs) if index != winners[0]] == [refused] * (RACERS - 1)
    stored = ctx.storage.get_bytes("lexicons/contested.json").decode()
    assert f'"jif{winners[0]}"' in stored


def test_exactly_one_of_n_simultaneous_alias_creations_wins(ctx):
    outputs = race(
        ctx,
        lambda index: {"action": "alias", "name": "twin", "alias_of": "narrator", "presets": {"speed": 1 + index / 10}},
    )
    winners = [index for index, output in enumerate(outputs) if "error" not in output]
    assert len(winners) == 1, outputs


def test_a_hand_edited_broken_lexicon_is_reported_not_fatal(ctx):
    ctx.storage.put_bytes("lexicons/broken.json", b'{"entries": {"two words": "x"}}')
    ctx.storage.put_bytes("lexicons/garbage.json", b"not json")
    listed = {item["name"]: item for item in job(ctx, action="lexicons")["lexicons"]}
    assert listed["broken"]["entries"] is None and "unusable" in listed["broken"]["error"]
    assert listed["garbage"]["entries"] is None and "unreadable" in listed["garbage"]["error"]
