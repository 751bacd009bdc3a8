"""A stand-in for RunPod's job queue, for driving the real SDK production loop in tests and benchmarks.

``runpod.serverless.start`` runs its production loop (``rp_scale.JobScaler``) when
``RUNPOD_WEBHOOK_GET_JOB`` is set. runpod 1.10.0 then talks to these URLs (read from its source):

- ``GET  RUNPOD_WEBHOOK_GET_JOB`` with ``$ID`` replaced by ``RUNPOD_POD_ID`` plus ``&job_in_progress=0|1``:
  one job as ``{"id", "input"}``, or 204 when idle (400 is also read as "no job"). When the URL contains
  ``/job-take/`` and ``concurrency_modifier`` asks for N > 1 jobs, it is rewritten to ``/job-take-batch/``
  with ``&batch_size=N`` and the answer is a list of jobs.
- ``GET  .../job-stop/...`` (the job-take URL with ``/job-take/`` -> ``/job-stop/``): a long-poll for
  ``{"jobsToStop": [ids]}``; 204 when there is nothing to stop.
- ``POST RUNPOD_WEBHOOK_POST_OUTPUT`` with ``$RUNPOD_POD_ID`` -> pod id, ``$ID`` -> job id and
  ``&isStream=false``: the final result (``{"output": ...}`` or ``{"error": ...}``, plus ``"stopPod": true``
  when the handler returned ``refresh_worker``), and also every ``progress_update`` as
  ``{"status": "IN_PROGRESS", "output": ...}``, each sent from a thread of its own (so in no guaranteed
  order). The body is JSON sent as ``application/x-www-form-urlencoded``; failed posts are retried (3
  attempts). Only a generator handler's final post says ``isStream=true`` (``STREAM_HANDLER=true`` workers:
  ``JobQueue(generator_handler=True)``); its body is ``{"output": [every yielded item]}`` with
  ``return_aggregate_stream``, or the first error item as ``{"error": "..."}``.
- ``POST RUNPOD_WEBHOOK_POST_STREAM`` (same placeholders, ``&isStream=false``): generator handlers only, one
  ``{"output": item}`` per yielded item, in order (each awaited before the generator resumes).
- ``GET  RUNPOD_WEBHOOK_PING`` (``$RUNPOD_POD_ID`` -> pod id) every ``RUNPOD_PING_INTERVAL`` ms with
  ``job_id=<ids in progress>&runpod_version=...``, from a forked process, only when ``RUNPOD_AI_API_KEY``
  and ``RUNPOD_POD_ID`` are set.

The real job-take is a long-poll; so is this one (``poll_hold_s``), or the SDK would spin on 204s. A job
goes only to a take whose client is still connected (one that timed out, or whose process died, gets
none), and a job whose answer cannot be written is put back at the front of the queue: no job is lost to
a client that has gone. Standard library only; listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENDPOINT_ID = "test-endpoint"
POD_ID = "test-pod-1"
API_KEY = "test-runpod-api-key"


@dataclass(frozen=True)
class Post:
    """One POST from the worker: a progress update, a final result or a stream chunk."""

    kind: str  # "done" (job-done URL) or "stream" (job-stream URL)
    job_id: str
    path: str
    query: dict[str, list[str]]
    body: object  # parsed JSON, or None when the body was not JSON
    raw: bytes
    at: float  # time.monotonic() when it arrived

    @property
    def is_progress(self) -> bool:
        return self.kind == "done" and isinstance(self.body, dict) and self.body.get("status") == "IN_PROGRESS"

    @property
    def is_final(self) -> bool:
        return self.kind == "done" and not self.is_progress


@dataclass(frozen=True)
class Take:
    """One job-take GET: which URL shape, what the worker said, which jobs it got."""

    path: str
    query: dict[str, list[str]]
    batch: bool
    job_ids: tuple[str, ...]
    at: float  # when it was answered
    started: float  # when it arrived (a take held open by a process that has since died started before)
    client_gone: bool = False  # its client had disconnected by then: it was given no job


@dataclass
class _State:
    pending: deque = field(default_factory=deque)
    enqueued: dict[str, float] = field(default_factory=dict)
    handed_out: dict[str, float] = field(default_factory=dict)
    requeued: list[str] = field(default_factory=list)  # handed to a take whose answer could not be written
    waiting_takes: int = 0  # job-take requests being held open now
    posts: list[Post] = field(default_factory=list)
    takes: list[Take] = field(default_factory=list)
    pings: list[dict] = field(default_factory=list)
    stop_polls: int = 0
    to_stop: list[str] = field(default_factory=list)
    protocol_errors: list[str] = field(default_factory=list)


class JobQueue:
    """The fake queue. Use as a context manager; every record is guarded by one condition variable."""

    def __init__(self, poll_hold_s: float = 0.5, pod_id: str = POD_ID, generator_handler: bool = False):
        self.pod_id = pod_id
        self.generator_handler = generator_handler  # final posts then say isStream=true
        self.poll_hold_s = poll_hold_s
        self._cond = threading.Condition()
        self._state = _State()
        self._closing = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="job-queue", daemon=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> JobQueue:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> JobQueue:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def env(self, ping: bool = True) -> dict[str, str]:
        """What the worker needs to run its production loop against this queue (no real cloud)."""
        base = f"{self.base_url}/v2/{ENDPOINT_ID}"
        env = {
            "RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID?gpu=test",
            "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID?gpu=test",
            "RUNPOD_WEBHOOK_POST_STREAM": f"{base}/job-stream/$RUNPOD_POD_ID/$ID?gpu=test",
            "RUNPOD_POD_ID": self.pod_id,
            "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
            "RUNPOD_SKIP_GPU_CHECK": "true",
        }
        if ping:
            env.update(
                RUNPOD_WEBHOOK_PING=f"{base}/ping/$RUNPOD_POD_ID?gpu=test",
                RUNPOD_PING_INTERVAL="1000",
                RUNPOD_AI_API_KEY=API_KEY,
            )
        return env

    # ------------------------------------------------------------------ feeding jobs

    def enqueue(self, job_input: object, job_id: str | None = None) -> str:
        job_id = job_id or f"job-{uuid.uuid4().hex[:12]}"
        with self._cond:
            if job_id in self._state.enqueued:
                raise ValueError(f"job id {job_id} was already enqueued")
            self._state.enqueued[job_id] = time.monotonic()
            self._state.pending.append({"id": job_id, "input": job_input})
            self._cond.notify_all()
        return job_id

    def enqueue_many(self, jobs: list[tuple[str | None, object]]) -> list[str]:
        """Several jobs made visible at once (so one batch fetch can take them together)."""
        ids = []
        with self._cond:
            for job_id, job_input in jobs:
                job_id = job_id or f"job-{uuid.uuid4().hex[:12]}"
                if job_id in self._state.enqueued:
                    raise ValueError(f"job id {job_id} was already enqueued")
                self._state.enqueued[job_id] = time.monotonic()
                self._state.pending.append({"id": job_id, "input": job_input})
                ids.append(job_id)
            self._cond.notify_all()
        return ids

    def request_stop(self, job_id: str) -> None:
        with self._cond:
            self._state.to_stop.append(job_id)
            self._cond.notify_all()

    # ------------------------------------------------------------------ reading what happened

    def wait_for(self, predicate, timeout: float, what: str = "condition"):
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._state), timeout=timeout):
                raise TimeoutError(f"job queue: no {what} after {timeout}s; {self.summary_locked()}")
            return predicate(self._state)

    def wait_for_poll(self, timeout: float = 180, since: float = float("-inf")) -> None:
        """The worker is serving once it asks for work: a job-take that arrived at ``since`` or later.

        ``since`` tells a new worker's first take from the long-polls of one that ran before it: a take
        held open by a process killed just now ends (with no job) within ``poll_hold_s`` and is recorded.
        """
        self.wait_for(lambda s: any(take.started >= since for take in s.takes), timeout, "job-take request")

    def wait_for_results(self, n: int, timeout: float) -> list[Post]:
        """Wait until at least ``n`` final results have arrived in total; return all final posts."""
        self.wait_for(lambda s: sum(p.is_final for p in s.posts) >= n, timeout, f"{n} final results")
        return self.final_posts()

    def wait_for_result(self, job_id: str, timeout: float) -> dict:
        self.wait_for(
            lambda s: any(p.is_final and p.job_id == job_id for p in s.posts), timeout, f"result for {job_id}"
        )
        return self.results_by_id()[job_id][0]

    def _locked_copy(self, record: str) -> list:
        """A copy of one of the records, taken under the lock (the HTTP threads keep adding to them)."""
        with self._cond:
            return list(getattr(self._state, record))

    def final_posts(self) -> list[Post]:
        with self._cond:
            return [p for p in self._state.posts if p.is_final]

    def posts(self) -> list[Post]:
        return self._locked_copy("posts")

    def _by_job(self, keep: Callable[[Post], bool], value: Callable[[Post], object]) -> dict[str, list]:
        """``value`` of every post that ``keep`` accepts, per job id, in arrival order."""
        found: dict[str, list] = {}
        for post in self.posts():
            if keep(post):
                found.setdefault(post.job_id, []).append(value(post))
        return found

    def results_by_id(self) -> dict[str, list[dict]]:
        """Final result bodies per job id, in arrival order (exactly one each when all is well)."""
        return self._by_job(lambda post: post.is_final, lambda post: post.body)

    def progress_by_id(self) -> dict[str, list[object]]:
        """The ``output`` of every progress update, per job id, in arrival order."""
        return self._by_job(lambda post: post.is_progress, lambda post: post.body.get("output"))

    def stream_by_id(self) -> dict[str, list[object]]:
        """The ``output`` of every job-stream post, per job id, in arrival order (generator handlers)."""
        return self._by_job(
            lambda post: post.kind == "stream",
            lambda post: post.body.get("output") if isinstance(post.body, dict) else None,
        )

    def result_times(self) -> dict[str, float]:
        return {p.job_id: p.at for p in self.final_posts()}

    def takes(self) -> list[Take]:
        return self._locked_copy("takes")

    def pings(self) -> list[dict]:
        return self._locked_copy("pings")

    def protocol_errors(self) -> list[str]:
        return self._locked_copy("protocol_errors")

    def requeued_ids(self) -> list[str]:
        """Jobs put back because their hand-out could not be written (the client had gone)."""
        return self._locked_copy("requeued")

    def pending_count(self) -> int:
        with self._cond:
            return len(self._state.pending)

    def enqueued_ids(self) -> list[str]:
        return self._locked_copy("enqueued")

    def summary_locked(self) -> str:
        state = self._state
        finals = sum(p.is_final for p in state.posts)
        return (
            f"pending={len(state.pending)} handed_out={len(state.handed_out)} finals={finals} "
            f"posts={len(state.posts)} takes={len(state.takes)} errors={state.protocol_errors[:3]}"
        )

    # ------------------------------------------------------------------ HTTP side

    def _take(
        self, batch_size: int, path: str, query: dict, batch: bool, client_gone: Callable[[], bool]
    ) -> list[dict]:
        """Hold the request until a job is pending (or ``poll_hold_s``); jobs only for a connected client."""
        started = time.monotonic()
        with self._cond:
            self._state.waiting_takes += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._state.pending or self._closing, timeout=self.poll_hold_s)
            finally:
                self._state.waiting_takes -= 1
            gone = client_gone()
            jobs = []
            while self._state.pending and len(jobs) < batch_size and not self._closing and not gone:
                jobs.append(self._state.pending.popleft())
            now = time.monotonic()
            for job in jobs:
                self._state.handed_out[job["id"]] = now
            ids = tuple(job["id"] for job in jobs)
            self._state.takes.append(Take(path, query, batch, ids, now, started, client_gone=gone))
            self._cond.notify_all()
            return jobs

    def _requeue(self, jobs: list[dict]) -> None:
        """Put jobs whose hand-out failed back at the front of the queue, in their order."""
        with self._cond:
            for job in reversed(jobs):
                self._state.pending.appendleft(job)
                self._state.handed_out.pop(job["id"], None)
                self._state.requeued.append(job["id"])
            self._cond.notify_all()

    def _stop_poll(self, client_gone: Callable[[], bool]) -> list[str]:
        with self._cond:
            self._cond.wait_for(lambda: self._state.to_stop or self._closing, timeout=self.poll_hold_s)
            self._state.stop_polls += 1
            if client_gone():
                return []  # kept for the next poll
            ids, self._state.to_stop = self._state.to_stop, []
            return ids

    def _record_post(self, kind: str, job_id: str, path: str, query: dict, raw: bytes) -> None:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        with self._cond:
            progress = isinstance(body, dict) and body.get("status") == "IN_PROGRESS"
            expected = "true" if self.generator_handler and kind == "done" and not progress else "false"
            if query.get("isStream") != [expected]:
                self._state.protocol_errors.append(f"{kind} post without isStream={expected}: {path}?{query}")
            if job_id not in self._state.handed_out:
                self._state.protocol_errors.append(f"post for a job never handed out: {job_id}")
            self._state.posts.append(Post(kind, job_id, path, query, body, raw, time.monotonic()))
            self._cond.notify_all()

    def _protocol_error(self, message: str) -> None:
        with self._cond:
            self._state.protocol_errors.append(message)
            self._cond.notify_all()

    def _handler_class(self):
        queue = self
        prefix = f"/v2/{ENDPOINT_ID}/"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - the base class's signature
                pass

            def _parts(self):
                parsed = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
                if not parsed.path.startswith(prefix):
                    return None, [], query, parsed.path
                return parsed.path, parsed.path[len(prefix) :].split("/"), query, parsed.path

            def _json(self, status: int, payload: object) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _client_gone(self) -> bool:
                return peer_closed(self.connection)

            def _empty(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                path, parts, query, raw_path = self._parts()
                if path and len(parts) == 2 and parts[0] in ("job-take", "job-take-batch"):
                    if parts[1] != queue.pod_id:
                        queue._protocol_error(f"job-take for another pod: {raw_path}")
                    if query.get("job_in_progress", [""])[-1] not in ("0", "1"):
                        queue._protocol_error(f"job-take without job_in_progress=0|1: {self.path}")
                    batch = parts[0] == "job-take-batch"
                    size = int(query.get("batch_size", ["1"])[-1]) if batch else 1
                    jobs = queue._take(size, raw_path, query, batch, self._client_gone)
                    if not jobs:
                        return self._empty(204)
                    try:
                        return self._json(200, jobs if batch else jobs[0])
                    except OSError:  # the client left after the check: the jobs go to the next take
                        self.close_connection = True
                        return queue._requeue(jobs)
                if path and len(parts) == 2 and parts[0] == "job-stop":
                    ids = queue._stop_poll(self._client_gone)
                    return self._json(200, {"jobsToStop": ids}) if ids else self._empty(204)
                if path and len(parts) == 2 and parts[0] == "ping":
                    with queue._cond:
                        queue._state.pings.append(
                            {"query": query, "at": time.monotonic(), "auth": self.headers.get("Authorization")}
                        )
                    return self._empty(200)
                queue._protocol_error(f"unexpected GET {self.path}")
                return self._empty(404)

            def do_POST(self):
                path, parts, query, raw_path = self._parts()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if path and len(parts) == 3 and parts[0] in ("job-done", "job-stream"):
                    if parts[1] != queue.pod_id:
                        queue._protocol_error(f"post for another pod: {raw_path}")
                    kind = "done" if parts[0] == "job-done" else "stream"
                    queue._record_post(kind, urllib.parse.unquote(parts[2]), raw_path, query, raw)
                    return self._empty(200)
                queue._protocol_error(f"unexpected POST {self.path}")
                return self._empty(404)

        return Handler


def peer_closed(connection: socket.socket) -> bool:
    """Whether the client at the other end has gone: its socket reads as end-of-file, or was reset.

    A client waiting for its answer sends nothing more, so a readable socket means it closed.
    """
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class ProductionWorker:
    """``python runpod-handler.py`` with no flags: the SDK's production loop against a :class:`JobQueue`.

    Runs in its own session (the SDK's heartbeat is a forked child that must go with it) and in its own
    working directory (runpod before 1.10.1 kept ``.runpod_jobs.pkl``, its jobs in progress, in the current
    directory; 1.12 keeps them in memory, and the tests still give each worker a directory of its own).
    """

    def __init__(self, env: dict[str, str], log_path: Path, cwd: Path):
        self.env = env
        self.log_path = Path(log_path)
        self.cwd = Path(cwd)
        self.cwd.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "runpod-handler.py")],
            cwd=self.cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, queue: JobQueue, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()[-5000:]}")
            with contextlib.suppress(TimeoutError):
                queue.wait_for_poll(timeout=0.5, since=self.started)
                return
        raise TimeoutError(f"worker did not poll the queue within {timeout}s:\n{self.log()[-5000:]}")

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (what a container runtime sends), then SIGKILL to the worker's whole session if needed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reap_session()
        if not self._log.closed:
            self._log.close()
        return self.process.returncode

    def reap_session(self) -> None:
        """Kill what is left of the session this worker started (the heartbeat child, if it outlived it)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
