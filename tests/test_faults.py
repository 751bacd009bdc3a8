"""Faults under real jobs: S3 stopped, slow or refusing one key in the middle of a job, local disks that
fill up, a cached voice damaged on disk, and a voice deleted while another job lists voices.

Jobs run in-process through ``handle_job`` with the tiny F5-TTS and tiny.en, against a dedicated moto
S3 server (so stopping it disturbs no other test) or local storage. "Mid-job" faults are triggered from
the job's own first progress update (after chunk 1 of 2 is synthesised), so they land at the same
point every run: after the voice was fetched, before the audio is stored.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import soundfile
from botocore.awsrequest import AWSResponse
from moto.server import ThreadedMotoServer

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.progress import progress_reporter
from f5worker.settings import Settings
from f5worker.storage.s3 import S3Storage
from f5worker.voices import sha256_file
from tests.conftest import make_bucket
from tests.helpers import espeak_wav, free_port, guard_b2, s3_settings_for

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
# Seven sentences make two chunks with this reference: the mid-job faults fire between them.
MULTI_CHUNK_TEXT = " ".join(f"Sentence number {n} talks about the weather and the sea." for n in range(1, 8))
SHORT_TEXT = "Hello there, how are you today?"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return espeak_wav(REFERENCE_TEXT, tmp_path_factory.mktemp("faults-voice") / "narrator.wav")


def tts_job(ctx, job_id: str, text: str = MULTI_CHUNK_TEXT, **fields) -> dict:
    return handle_job(
        {
            "id": job_id,
            "input": {"endpoint": "tts", "text": text, "voice": "narrator", "nfe_step": 4, "seed": 11, **fields},
        },
        ctx,
    )


def run_with_fault_mid_job(ctx, job_id: str, fault) -> tuple[dict, float]:
    """Run a 2-chunk tts job; ``fault()`` fires at its first synthesis progress update."""
    fired = []

    def reporter(update: dict) -> None:
        if update.get("stage") == "synthesis" and not fired:
            fired.append(time.monotonic())
            fault()

    with progress_reporter(reporter):
        output = tts_job(ctx, job_id)
    assert fired, "the fault never fired: the job did not reach synthesis"
    return output, time.monotonic() - fired[0]


def assert_whole_objects(storage, job_id: str) -> list[str]:
    """Whatever a failed job left under outputs/<id>/ is whole (decodes); it has no stored result."""
    keys = storage.list_keys(f"outputs/{job_id}/")
    for key in keys:
        if "/audio." in key:
            samples, _rate = soundfile.read(io.BytesIO(storage.get_bytes(key)))
            assert len(samples) > 0
    assert not storage.exists(f"results/{job_id}.json")
    return keys


# --------------------------------------------------------------------------- S3 plumbing


class SlowProxy:
    """TCP proxy on 127.0.0.1: forwards requests at once, holds every response chunk ``delay_s``."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.delay_s = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, dest: socket.socket, delayed: bool) -> None:
        source.settimeout(None)
        try:
            while data := source.recv(65536):
                if delayed and self.delay_s:
                    time.sleep(self.delay_s)
                dest.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, dest):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


class _Body:
    """The ``raw`` of a canned botocore response."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_kwargs):
        yield self._data


DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
)


def deny_key(client, key: str):
    """A botocore ``before-send`` hook answering 403 AccessDenied for every request on ``key``."""

    def hook(request, **_kwargs):
        if urllib.parse.unquote(urllib.parse.urlsplit(request.url).path).endswith("/" + key):
            return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, _Body(DENIED))
        return None

    client.meta.events.register_first("before-send.s3", hook)
    return lambda: client.meta.events.unregister("before-send.s3", hook)


@pytest.fixture
def private_s3():
    """A moto server of this test's own, on a fixed port, so it can be stopped and started again."""
    port = free_port()
    servers = [ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)]
    servers[0].start()
    endpoint = f"http://127.0.0.1:{port}"

    def restart():
        servers.append(ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False))
        servers[-1].start()

    state = {
        "endpoint": endpoint,
        "bucket": make_bucket(endpoint),
        "port": port,
        "restart": restart,
        "stop": lambda: servers[-1].stop(),
    }
    yield state
    with contextlib.suppress(Exception):
        servers[-1].stop()


def s3_context(
    engines, endpoint: str, bucket: str, tmp_path: Path, reference: Path | None = None, cache_dir: Path | None = None
):
    settings = s3_settings_for(
        endpoint,
        bucket,
        storage_dir=tmp_path / "unused",
        s3_connect_timeout_s=1,
        s3_read_timeout_s=1,
        s3_max_attempts=2,
        voice_cache_dir=cache_dir or tmp_path / "voice-cache",
    )
    ctx = build_context(settings, engines=engines)
    guard_b2(ctx.storage.client)
    if reference is not None:
        ctx.storage.put_bytes("voices/narrator.wav", reference.read_bytes(), content_type="audio/wav")
        ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode(), content_type="text/plain")
    return ctx


# --------------------------------------------------------------------------- S3 faults


def test_s3_stopped_mid_job_gives_a_bounded_storage_error_and_the_next_job_succeeds(
    engines, private_s3, reference, tmp_path
):
    ctx = s3_context(engines, private_s3["endpoint"], private_s3["bucket"], tmp_path, reference)
    output, after_fault_s = run_with_fault_mid_job(ctx, "s3-down", private_s3["stop"])
    assert output["error"].startswith("storage_error: S3 PutObject of outputs/s3-down/audio.wav failed: "), output
    assert after_fault_s < 15
    private_s3["restart"]()
    assert assert_whole_objects(ctx.storage, "s3-down") == []
    again = tts_job(ctx, "s3-back", text=SHORT_TEXT)
    assert "error" not in again, again
    assert ctx.storage.exists("outputs/s3-back/audio.wav") and ctx.storage.exists("results/s3-back.json")


def test_slow_s3_times_out_into_a_storage_error_and_the_next_job_succeeds(engines, private_s3, reference, tmp_path):
    proxy = SlowProxy(private_s3["port"])
    try:
        endpoint = f"http://127.0.0.1:{proxy.port}"
        ctx = s3_context(engines, endpoint, private_s3["bucket"], tmp_path, reference)
        direct = S3Storage(s3_settings_for(private_s3["endpoint"], private_s3["bucket"]))

        def slow_down():
            proxy.delay_s = 3.0  # beyond S3_READ_TIMEOUT_S=1

        output, after_fault_s = run_with_fault_mid_job(ctx, "s3-slow", slow_down)
        assert output["error"].startswith(
            "storage_error: S3 PutObject of outputs/s3-slow/audio.wav failed: ReadTimeoutError"
        ), output
        assert after_fault_s < 15  # 2 attempts x 1 s read timeout, plus backoff
        # The PUT body did reach S3 before its answer was held up: what is there is whole, never cut short.
        assert_whole_objects(direct, "s3-slow")

        started = time.monotonic()
        error = handle_job({"id": "r", "input": {"endpoint": "result", "job_id": "s3-slow"}}, ctx)["error"]
        # the record reader asks for the size before it reads (storage/records.py)
        assert error == "storage_error: S3 HeadObject of results/s3-slow.json failed: ReadTimeoutError"
        assert time.monotonic() - started < 15

        proxy.delay_s = 0.0
        again = tts_job(ctx, "s3-fast-again", text=SHORT_TEXT)
        assert "error" not in again, again
        assert direct.exists("results/s3-fast-again.json")
    finally:
        proxy.close()


def test_s3_403_for_one_key_is_a_storage_error_naming_it_and_other_keys_still_work(
    engines, private_s3, reference, tmp_path
):
    ctx = s3_context(engines, private_s3["endpoint"], private_s3["bucket"], tmp_path, reference)
    undo = deny_key(ctx.storage.client, "outputs/s3-denied/audio.wav")
    try:
        started = time.monotonic()
        output = tts_job(ctx, "s3-denied", text=SHORT_TEXT)
        assert output["error"] == (
            "storage_error: S3 PutObject of outputs/s3-denied/audio.wav failed: AccessDenied (HTTP 403)"
        )
        assert time.monotonic() - started < 15
        assert assert_whole_objects(ctx.storage, "s3-denied") == []
        fine = tts_job(ctx, "s3-allowed", text=SHORT_TEXT)
        assert "error" not in fine, fine
    finally:
        undo()
    undo = deny_key(ctx.storage.client, "results/s3-allowed.json")
    try:
        error = handle_job({"id": "r", "input": {"endpoint": "result", "job_id": "s3-allowed"}}, ctx)["error"]
        assert error.startswith("storage_error: S3 HeadObject of results/s3-allowed.json failed: "), error
        assert error.endswith("(HTTP 403)"), error
    finally:
        undo()
    stored = handle_job({"id": "r", "input": {"endpoint": "result", "job_id": "s3-allowed"}}, ctx)
    assert stored["job_id"] == "s3-allowed"
    assert "error" not in tts_job(ctx, "s3-denied", text=SHORT_TEXT)


# --------------------------------------------------------------------------- disks that fill up


class SmallDisk:
    """A size-limited tmpfs; ``leave_free(n)`` fills it so that about ``n`` bytes stay free."""

    def __init__(self, path: Path):
        self.path = path
        self.filler = path / "filler.bin"

    def free(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def leave_free(self, n: int) -> None:
        self.filler.unlink(missing_ok=True)
        self.filler.write_bytes(b"\0" * max(0, self.free() - n))

    def make_room(self) -> None:
        self.filler.unlink(missing_ok=True)

    def leftovers(self) -> list[str]:
        """Temp files anywhere on the disk (the worker's ``.tmp-*`` and ``f5worker-in-*``)."""
        return sorted(
            str(p.relative_to(self.path))
            for p in self.path.rglob("*")
            if p.is_file() and p.name.startswith((".tmp-", "f5worker-", "tmp"))
        )


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here ({result.stderr.strip() or result.returncode})")
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def local_context(engines, storage_dir: Path, cache_dir: Path, reference: Path | None = None):
    ctx = build_context(Settings(storage_dir=storage_dir, voice_cache_dir=cache_dir), engines=engines)
    if reference is not None:
        ctx.storage.put_bytes("voices/narrator.wav", reference.read_bytes())
        ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    return ctx


def assert_cache_entry_sound(cache_dir: Path, storage) -> None:
    """No temp files; a cached voice is either absent or identical to the stored one, with its marker."""
    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name.startswith(".tmp-")], files
    cached = cache_dir / "voices" / "narrator.wav"
    marker = cache_dir / "voices" / "narrator.wav.cached"
    if marker.exists():
        assert cached.read_bytes() == storage.get_bytes("voices/narrator.wav")
        assert marker.read_text().endswith(sha256_file(cached))


def test_disk_full_while_storing_tts_output(engines, reference, small_disk, tmp_path):
    ctx = local_context(engines, small_disk.path / "storage", tmp_path / "cache", reference)
    small_disk.leave_free(16 * 1024)  # the voice is stored; the speech will not fit
    output = tts_job(ctx, "full-out", text=SHORT_TEXT)
    assert output["error"] == "storage_error: writing outputs/full-out/audio.wav failed: No space left on device"
    assert small_disk.leftovers() == []
    assert ctx.storage.list_keys("outputs/full-out/") == [] and not ctx.storage.exists("results/full-out.json")
    small_disk.make_room()
    again = tts_job(ctx, "full-out", text=SHORT_TEXT)
    assert "error" not in again, again
    assert ctx.storage.exists("results/full-out.json") and small_disk.leftovers() == []


def test_disk_full_in_the_voice_cache_with_no_room_for_the_voice(engines, reference, small_disk, tmp_path):
    ctx = local_context(engines, tmp_path / "storage", small_disk.path / "cache", reference)
    small_disk.leave_free(8 * 1024)
    output = tts_job(ctx, "cache-full", text=SHORT_TEXT)
    assert output["error"] == "storage_error: copying voices/narrator.wav failed: No space left on device"
    assert small_disk.leftovers() == []
    assert_cache_entry_sound(small_disk.path / "cache", ctx.storage)
    small_disk.make_room()
    assert "error" not in tts_job(ctx, "cache-roomy", text=SHORT_TEXT)
    assert_cache_entry_sound(small_disk.path / "cache", ctx.storage)
    assert (small_disk.path / "cache" / "voices" / "narrator.wav.cached").exists()


def exact_room(reference: Path) -> int:
    """Free bytes that hold the voice's copy (whole 4 KiB tmpfs pages) and nothing more: no room for its marker."""
    return -(-reference.stat().st_size // 4096) * 4096


def test_disk_full_while_writing_the_voice_cache_marker(engines, reference, small_disk, tmp_path):
    ctx = local_context(engines, tmp_path / "storage", small_disk.path / "cache", reference)
    small_disk.leave_free(exact_room(reference))
    output = tts_job(ctx, "marker-full", text=SHORT_TEXT)
    assert output["error"].startswith("storage_error: "), output
    assert_cache_entry_sound(small_disk.path / "cache", ctx.storage)


def test_disk_full_while_downloading_a_voice_from_s3(engines, reference, small_disk, private_s3, tmp_path):
    ctx = s3_context(
        engines, private_s3["endpoint"], private_s3["bucket"], tmp_path, reference, cache_dir=small_disk.path / "cache"
    )
    small_disk.leave_free(8 * 1024)
    output = tts_job(ctx, "s3-cache-full", text=SHORT_TEXT)
    assert output["error"].startswith("storage_error: "), output
    assert small_disk.leftovers() == []
    assert_cache_entry_sound(small_disk.path / "cache", ctx.storage)


def test_temp_disk_full_does_not_stop_decoding_an_input(engines, reference, small_disk, tmp_path, monkeypatch):
    """Inputs are decoded in memory (issue 11): a full temp disk no longer matters to decoding."""
    ctx = local_context(engines, tmp_path / "storage", tmp_path / "cache")
    monkeypatch.setattr(tempfile, "tempdir", str(small_disk.path))
    small_disk.leave_free(8 * 1024)
    audio = base64.b64encode(reference.read_bytes()).decode()
    output = handle_job({"id": "tmp-full", "input": {"endpoint": "stt", "audio": audio}}, ctx)
    assert "error" not in output and output["duration_s"] > 1, output
    assert small_disk.leftovers() == []


# --------------------------------------------------------------------------- damaged cache, concurrent delete


@pytest.mark.parametrize("damage", ["same-size-garbage", "truncated"])
def test_a_damaged_cached_voice_is_fetched_again_by_the_next_tts_job(engines, reference, tmp_path, damage):
    ctx = local_context(engines, tmp_path / "storage", tmp_path / "cache", reference)
    first = tts_job(ctx, "before-damage", text=SHORT_TEXT, return_audio="base64")
    assert "error" not in first, first
    cached = tmp_path / "cache" / "voices" / "narrator.wav"
    assert cached.read_bytes() == reference.read_bytes()

    stat = cached.stat()
    if damage == "same-size-garbage":  # same size, same inode, same mtime: only the hash can tell
        with open(cached, "r+b") as handle:
            handle.seek(44)
            handle.write(os.urandom(stat.st_size - 44))
        os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:
        with open(cached, "r+b") as handle:
            handle.truncate(100)

    second = tts_job(ctx, "after-damage", text=SHORT_TEXT, return_audio="base64")
    assert "error" not in second, second
    assert cached.read_bytes() == reference.read_bytes(), "the damaged copy was not replaced"
    assert_cache_entry_sound(tmp_path / "cache", ctx.storage)
    assert second["audio"]["base64"] == first["audio"]["base64"], "same seed and voice, same audio"


def test_voices_list_while_another_job_deletes_a_voice(engines, reference, tmp_path):
    ctx = local_context(engines, tmp_path / "storage", tmp_path / "cache", reference)
    ctx.storage.put_bytes("voices/leaving.wav", reference.read_bytes())
    listed = ctx.storage.list_keys

    def list_then_delete(prefix: str) -> list[str]:
        keys = listed(prefix)
        if prefix == "voices/" and ctx.storage.exists("voices/leaving.wav"):
            deleted = handle_job(
                {"id": "d", "input": {"endpoint": "voices", "action": "delete", "name": "leaving"}}, ctx
            )
            assert deleted["deleted"] == ["voices/leaving.wav"], deleted
        return keys

    ctx.storage.list_keys = list_then_delete
    output = handle_job({"id": "l", "input": {"endpoint": "voices", "action": "list"}}, ctx)
    assert "error" not in output, output
    assert {voice["name"] for voice in output["voices"]} == {"narrator"}


def test_fault_helpers_are_self_consistent(tmp_path):
    """The proxy passes bytes through untouched when not slowed down (guards the slow-S3 test itself)."""
    received = []
    server = socket.create_server(("127.0.0.1", 0))

    def echo():
        conn, _ = server.accept()
        received.append(conn.recv(1024))
        conn.sendall(b"pong")
        conn.close()

    threading.Thread(target=echo, daemon=True).start()
    proxy = SlowProxy(server.getsockname()[1])
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"ping")
            assert sock.recv(1024) == b"pong"
        assert received == [b"ping"]
    finally:
        proxy.close()
        server.close()
