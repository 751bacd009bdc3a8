"""One worker's right to upload something to the bucket: a lock object, taken once, renewed while held.

Used by the model cache (``models/<name>/.lock``) and the stack snapshot (``stacks/<stamp>/.lock``).
Taking it is a conditional create (``If-None-Match: *``), then a pause and a read back: a store that
ignores the condition lets the last writer win, and the read back tells each worker whether that is
it. The holder rewrites the lock every quarter of its stale time (:class:`Heartbeat`), so a lock not
rewritten for that long belongs to a killed worker and is taken over.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

from ..errors import NotFound
from .base import Storage

log = logging.getLogger(__name__)
SETTLE_S = 1.0  # wait before reading the lock back (for stores that ignore If-None-Match)


def lock_body(token: str) -> bytes:
    return json.dumps({"token": token, "at": time.time()}).encode()


def read_holder(store: Storage, key: str) -> dict | None:
    try:
        holder = json.loads(store.get_bytes(key))
    except (NotFound, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def lock_is_live(store: Storage, key: str, stale_s: float) -> bool:
    """Another worker holds the lock and rewrote it less than ``stale_s`` ago."""
    holder = read_holder(store, key)
    return holder is not None and time.time() - holder.get("at", 0) < stale_s


def take_lock(store: Storage, key: str, stale_s: float) -> str | None:
    """The lock's token when this worker now holds it, else None (a live holder, or a race lost)."""
    if lock_is_live(store, key, stale_s):
        return None
    if store.exists(key):
        log.warning("taking over an upload lock not renewed for %g s (its worker is gone): %s", stale_s, key)
        store.delete(key)
    token = uuid.uuid4().hex
    if not store.create_exclusive(key, lock_body(token)):
        return None
    time.sleep(SETTLE_S)
    holder = read_holder(store, key)
    return token if holder is not None and holder.get("token") == token else None


class Heartbeat:
    """Rewrites the lock every quarter of its stale time while the holder works, so that only a killed
    holder's lock goes stale; stops when another worker's token is found there."""

    def __init__(self, store: Storage, key: str, token: str, stale_s: float):
        self.store, self.key, self.token, self.stale_s = store, key, token, stale_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat, name="bucket-lock-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()

    def beat(self) -> None:
        while not self.stop.wait(self.stale_s / 4):
            try:
                holder = read_holder(self.store, self.key)
                if holder is None or holder.get("token") != self.token:
                    log.warning("another worker took the upload lock %s over; no longer renewing it", self.key)
                    return
                self.store.put_bytes(self.key, lock_body(self.token))
            except Exception as exc:  # the next beat tries again; a lock gone stale only risks a second upload
                log.warning("renewing the upload lock %s failed (%s: %s)", self.key, type(exc).__name__, exc)
