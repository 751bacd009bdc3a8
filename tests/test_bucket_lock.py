"""f5worker/storage/bucket_lock.py on moto's S3: one holder, renewed while it works, taken over once dead."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from f5worker.storage import bucket_lock

KEY = "stacks/abc/.lock"


@pytest.fixture(autouse=True)
def quick_settle(monkeypatch):
    monkeypatch.setattr(bucket_lock, "SETTLE_S", 0.1)


def test_a_live_lock_is_renewed_and_a_dead_one_taken_over(s3_storage):
    token = bucket_lock.take_lock(s3_storage, KEY, stale_s=2.0)
    assert token
    with bucket_lock.Heartbeat(s3_storage, KEY, token, stale_s=2.0):  # work that outlasts the stale time
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            assert bucket_lock.lock_is_live(s3_storage, KEY, 2.0)
            assert bucket_lock.take_lock(s3_storage, KEY, 2.0) is None
            time.sleep(0.2)
    # its worker is killed (the lock stays, no longer renewed): stale after 2 s, then taken over
    assert bucket_lock.lock_is_live(s3_storage, KEY, 2.0)
    time.sleep(2.1)
    assert not bucket_lock.lock_is_live(s3_storage, KEY, 2.0)
    other = bucket_lock.take_lock(s3_storage, KEY, 2.0)
    assert other and other != token


def test_of_workers_racing_for_a_free_lock_one_wins(s3_storage):
    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = list(pool.map(lambda _: bucket_lock.take_lock(s3_storage, KEY, 60.0), range(4)))
    assert len([token for token in tokens if token]) == 1


def test_a_heartbeat_stops_once_another_worker_holds_the_lock(s3_storage):
    token = bucket_lock.take_lock(s3_storage, KEY, stale_s=0.4)
    with bucket_lock.Heartbeat(s3_storage, KEY, token, stale_s=0.4) as beat:
        s3_storage.put_bytes(KEY, bucket_lock.lock_body("another-worker"))
        beat.thread.join(timeout=5)
        assert not beat.thread.is_alive()
    assert bucket_lock.read_holder(s3_storage, KEY)["token"] == "another-worker"
