"""Stored voices, reference-text formats, and the cross-process voice cache against moto's S3."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from f5worker.errors import NotFound
from f5worker.settings import Settings
from f5worker.storage.s3 import S3Storage
from f5worker.voices import VoiceCache, find_voice, list_voices, parse_reference_text, voice_keys
from tests.helpers import REPO, guard_b2, s3_env, worker_env

AUDIO = b"RIFF" + bytes(range(256)) * 64


def test_find_and_list_voices_with_any_text_format(local_ctx):
    storage = local_ctx.storage
    storage.put_bytes("voices/anna.flac", AUDIO)
    storage.put_bytes("voices/anna.json", json.dumps({"text": "Hello there."}).encode())
    storage.put_bytes("voices/bob.wav", AUDIO)
    storage.put_bytes("voices/orphan.txt", b"text without audio")
    assert [v.name for v in list_voices(storage)] == ["anna", "bob"]
    anna = find_voice(storage, "anna")
    assert anna.audio_key == "voices/anna.flac" and anna.text_key == "voices/anna.json"
    assert find_voice(storage, "bob").text_key is None
    assert voice_keys(storage, "anna") == ["voices/anna.flac", "voices/anna.json"]
    with pytest.raises(NotFound, match="voice: no stored voice named 'orphan'"):
        find_voice(storage, "orphan")


def test_voice_names_do_not_leak_into_each_other(local_ctx):
    local_ctx.storage.put_bytes("voices/ann.wav", AUDIO)
    local_ctx.storage.put_bytes("voices/anna.wav", AUDIO)
    assert voice_keys(local_ctx.storage, "ann") == ["voices/ann.wav"]


@pytest.mark.parametrize(
    ("ext", "content"),
    [
        ("txt", "  Hello   there, friend.\n"),
        ("json", json.dumps({"text": "Hello there, friend."})),
        ("srt", "1\n00:00:00,000 --> 00:00:01,000\nHello there,\n\n2\n00:00:01,000 --> 00:00:02,000\nfriend.\n"),
        ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello there,\nfriend.\n"),
    ],
)
def test_reference_text_formats_become_plain_text(ext, content):
    assert parse_reference_text(content.encode(), ext) == "Hello there, friend."


def test_cache_fetches_once_and_refetches_a_changed_or_corrupted_copy(s3_storage, tmp_path):
    s3_storage.put_bytes("voices/v.wav", AUDIO)
    cache = VoiceCache(s3_storage, tmp_path / "cache")
    path = cache.fetch("voices/v.wav")
    assert path.read_bytes() == AUDIO and cache.fetch("voices/v.wav") == path and cache.downloads == 1
    path.write_bytes(AUDIO[:-1] + b"X")  # damaged on disk: same size, other bytes
    assert cache.fetch("voices/v.wav").read_bytes() == AUDIO and cache.downloads == 2
    s3_storage.put_bytes("voices/v.wav", AUDIO[::-1])  # re-uploaded under the same name
    assert cache.fetch("voices/v.wav").read_bytes() == AUDIO[::-1] and cache.downloads == 3


def test_missing_voice_leaves_nothing_in_the_cache(s3_storage, tmp_path):
    cache = VoiceCache(s3_storage, tmp_path / "cache")
    with pytest.raises(NotFound):
        cache.fetch("voices/none.wav")
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_concurrent_threads_cause_one_download(s3_storage, tmp_path):
    s3_storage.put_bytes("voices/shared.wav", AUDIO)
    cache = VoiceCache(s3_storage, tmp_path / "cache")
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.fetch("voices/shared.wav"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and cache.downloads == 1


FETCH_IN_A_PROCESS = """
import sys
from f5worker.settings import load_settings
from f5worker.storage import open_storage
from f5worker.voices import VoiceCache
cache = VoiceCache(open_storage(load_settings()), sys.argv[1])
cache.fetch("voices/shared.wav")
print("downloads", cache.downloads)
"""


def test_concurrent_processes_cause_one_download(moto_endpoint, bucket, tmp_path):
    storage = S3Storage(Settings(**{k.lower(): v for k, v in s3_env(moto_endpoint, bucket).items()}))
    guard_b2(storage.client)
    storage.put_bytes("voices/shared.wav", AUDIO * 64)
    env = worker_env(**s3_env(moto_endpoint, bucket))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", FETCH_IN_A_PROCESS, str(tmp_path / "cache")],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sum(int(out.split()[-1]) for out in outputs) == 1, outputs
    assert (tmp_path / "cache" / "voices" / "shared.wav").read_bytes() == AUDIO * 64
