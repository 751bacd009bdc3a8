"""A small client for the worker: RunPod's hosted serverless API, or the SDK's local API.

Only the standard library and ``requests`` (urllib3's ``Retry`` through requests' ``HTTPAdapter`` does
connection-level retries). Nothing else of this package is imported, so the file can be copied
into a video pipeline on its own.

::

    from f5worker.client import RunPodClient, JobFailed

    client = RunPodClient()  # RUNPOD_ENDPOINT_ID + RUNPOD_API_KEY, or RUNPOD_BASE_URL
    output = client.tts("Hello there.", voice="narrator", return_word_timings=True,
                        on_progress=print)
    client.save_outputs(output, "out/")  # out/audio.wav, out/timings.srt, ...

Hosted and local API differ in one place: RunPod's hosted ``/status/{id}`` is a ``GET``; the local
API (``runpod-handler.py --rp_serve_api``) only answers ``POST /status/{id}``, and that request is
what executes a job queued by ``/run`` (it returns when the job is done and the id is then
forgotten). ``local=True`` selects POST; ``local=None`` (the default) tries GET and switches to POST
for good when the server answers 405. The local API sends no progress updates.

On a streaming endpoint (workers with ``STREAM_HANDLER=true``) RunPod returns every job's output as
the list of items the worker yielded; :meth:`RunPodClient.output_of` returns the last one, which is
the usual output, so callers see the same dicts on both kinds of endpoint. :meth:`RunPodClient.stream`
reads the chunk items of a ``"stream": true`` tts job as they arrive.

The API key travels only in the ``Authorization`` header of requests to the RunPod API: never in
URLs, log lines or exception messages, and never to presigned storage URLs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = [
    "FINAL_STATUSES",
    "ClientError",
    "JobFailed",
    "RunPodClient",
    "WaitTimeout",
    "encode_file",
    "final_item",
    "parse_error",
    "stream_audio",
]

log = logging.getLogger(__name__)

HOSTED_API = "https://api.runpod.ai/v2"
FINAL_STATUSES = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
RETRY_STATUSES = (429, 500, 502, 503, 504)
_ERROR_CODE = re.compile(r"^([a-z][a-z0-9_]*): (.*)\Z", re.S)
TIMING_FILES = ("srt", "vtt", "ass", "csv", "json")  # the worker's TIMING_FORMATS (a test keeps them equal)
_USER_AGENT = "f5worker-client/0.1"


class ClientError(Exception):
    """The endpoint could not be reached or answered something unusable (HTTP status in ``status_code``)."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class JobFailed(ClientError):
    """The job ended without an output: FAILED (the worker's ``code: message``), CANCELLED or TIMED_OUT."""

    def __init__(self, code: str, message: str, status: str = "FAILED", job_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.job_id = job_id


class WaitTimeout(ClientError):
    """``wait`` gave up; the job itself may still run (``last_status``)."""

    def __init__(self, job_id: str, waited_s: float, last_status: str | None):
        super().__init__(f"job {job_id} not finished after {waited_s:.1f} s (last status: {last_status})")
        self.job_id = job_id
        self.waited_s = waited_s
        self.last_status = last_status


def parse_error(error: Any, status: str = "FAILED", job_id: str | None = None) -> JobFailed:
    """The worker's ``"code: message"`` string as a :class:`JobFailed`.

    A handler that raised (this worker never does) reaches RunPod as a JSON string with
    ``error_type`` / ``error_message``; that becomes code ``worker_exception``.
    """
    if isinstance(error, str) and error.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            error = json.loads(error)
    if isinstance(error, dict):
        message = error.get("error_message") or error.get("error") or json.dumps(error)[:500]
        return JobFailed("worker_exception", str(message), status, job_id)
    text = str(error or "the job failed without an error message")
    match = _ERROR_CODE.match(text)
    if match:
        return JobFailed(match.group(1), match.group(2), status, job_id)
    return JobFailed("job_failed", text, status, job_id)


def encode_file(path: str | os.PathLike) -> str:
    """A local file as the base64 text the worker accepts for ``audio`` / ``ref_audio``."""
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def final_item(output: Any) -> Any:
    """A job's usual output: itself, or on a streaming endpoint (``STREAM_HANDLER=true``, where RunPod
    returns every yielded item as a list) the last item, which always carries the usual output."""
    if isinstance(output, list) and output and isinstance(output[-1], dict):
        return output[-1]
    return output


def stream_audio(items: list[Mapping]) -> bytes:
    """The raw PCM of chunk items, in ``seq`` (then ``part``) order (16-bit little-endian mono at each item's
    ``sample_rate``)."""
    ordered = sorted(items, key=lambda item: (item["seq"], item.get("part", 0)))
    return b"".join(base64.b64decode(item["audio"]) for item in ordered)


def _audio_value(value: Any) -> Any:
    """Paths and bytes become base64; strings (URL, base64, storage key) pass unchanged."""
    if isinstance(value, os.PathLike):
        return encode_file(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def _write_atomic(path: Path, data: bytes | None = None, chunks: Any = None) -> Path:
    """Write to a temp name in the same folder, then rename over ``path``: readers never see half a file.

    The temp file is created with mode 0666 less the umask, like any file the caller writes
    (``mkstemp`` would leave 0600); ``O_EXCL`` with a random name keeps it private to this call.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_name = str(path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            if data is not None:
                handle.write(data)
            for chunk in chunks or ():
                handle.write(chunk)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    return path


class RunPodClient:
    """Jobs on one endpoint: submit, poll, fetch results and files.

    Arguments fall back to the environment: ``RUNPOD_ENDPOINT_ID``, ``RUNPOD_API_KEY`` and
    ``RUNPOD_BASE_URL``. ``base_url`` wins over ``endpoint_id``; without it the URL is
    ``https://api.runpod.ai/v2/<endpoint_id>`` and an API key is required.

    ``timeout`` is the limit of one HTTP request (a local ``/status`` or a ``/runsync`` lasts as long
    as the job); ``wait_timeout`` the default limit of :meth:`wait`. Polling starts at ``poll_interval``
    seconds and doubles up to ``max_poll_interval``. ``retries`` (or a urllib3 ``Retry``) applies to
    connection errors for every request and to 429/5xx answers for GET only: re-sending a POST
    ``/run`` could queue the job twice, and a local POST ``/status`` runs the job.
    """

    def __init__(
        self,
        endpoint_id: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 300.0,
        *,
        local: bool | None = None,
        wait_timeout: float = 3600.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 10.0,
        retries: int | Retry = 3,
        backoff_factor: float = 0.5,
    ):
        endpoint_id = endpoint_id or os.environ.get("RUNPOD_ENDPOINT_ID") or None
        api_key = api_key or os.environ.get("RUNPOD_API_KEY") or None
        base_url = base_url or os.environ.get("RUNPOD_BASE_URL") or None
        if base_url is None:
            if not endpoint_id:
                raise ValueError("no endpoint: give endpoint_id (RUNPOD_ENDPOINT_ID) or base_url (RUNPOD_BASE_URL)")
            if not api_key:
                raise ValueError("RunPod's hosted API needs an API key: give api_key or set RUNPOD_API_KEY")
            base_url = f"{HOSTED_API}/{endpoint_id}"
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.local = local
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._api_key = api_key
        if not isinstance(retries, Retry):
            retries = Retry(
                total=retries,
                connect=retries,
                read=retries,
                status=retries,
                backoff_factor=backoff_factor,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=frozenset({"GET", "HEAD"}),
                raise_on_status=False,  # the last answer comes back and is reported below
            )
        self.session = self._session(retries, auth=True)
        self.files_session = self._session(retries, auth=False)  # presigned URLs get no RunPod key

    def __repr__(self) -> str:
        return f"RunPodClient(base_url={self.base_url!r}, local={self.local!r})"

    def _session(self, retries: Retry, auth: bool) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=retries)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = _USER_AGENT
        if auth and self._api_key:
            session.headers["Authorization"] = f"Bearer {self._api_key}"
        return session

    def close(self) -> None:
        self.session.close()
        self.files_session.close()

    def __enter__(self) -> RunPodClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ HTTP

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _request(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        log.debug("%s %s%s", method, self.base_url, path)
        try:
            response = self.session.request(method, self.base_url + path, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ClientError(f"{method} {path}: {type(exc).__name__}: {self._scrub(str(exc))}") from None
        return response

    def _json(self, method: str, path: str, response: requests.Response) -> dict:
        if response.status_code in (401, 403):
            raise ClientError(
                f"{method} {path}: HTTP {response.status_code}: not authorised (check RUNPOD_API_KEY)",
                response.status_code,
            )
        if not response.ok:
            detail = self._scrub(response.text[:300].strip())
            raise ClientError(f"{method} {path}: HTTP {response.status_code}: {detail}", response.status_code)
        try:
            data = response.json()
        except ValueError:
            raise ClientError(f"{method} {path}: answer is not JSON", response.status_code) from None
        if not isinstance(data, dict):
            raise ClientError(f"{method} {path}: expected a JSON object", response.status_code)
        return data

    def _call_api(self, method: str, path: str, body: dict | None = None) -> dict:
        return self._json(method, path, self._request(method, path, body))

    # ------------------------------------------------------------------ jobs

    def run(self, job_input: dict, webhook: str | None = None) -> str:
        """Queue a job (POST /run); returns its id."""
        body: dict[str, Any] = {"input": job_input}
        if webhook:
            body["webhook"] = webhook
        answer = self._call_api("POST", "/run", body)
        if not answer.get("id"):
            raise ClientError(f"POST /run: no job id in the answer (status {answer.get('status')!r})")
        return str(answer["id"])

    def runsync(self, job_input: dict) -> dict:
        """Run a job and wait for it on the server (POST /runsync); returns the status body.

        Hosted RunPod answers IN_QUEUE / IN_PROGRESS when the job outlasts its wait window:
        :meth:`call` then goes on polling.
        """
        return self._call_api("POST", "/runsync", {"input": job_input})

    def status(self, job_id: str) -> dict:
        """The job's status body: ``{"id", "status", "output" | "error", ...}``.

        GET on RunPod; POST on the local API, where this call runs the queued job.
        """
        path = f"/status/{job_id}"
        if self.local:
            return self._call_api("POST", path)
        response = self._request("GET", path)
        if response.status_code == 405 and self.local is None:
            log.debug("GET /status answered 405: the SDK's local API, switching to POST /status")
            self.local = True
            return self._call_api("POST", path)
        return self._json("GET", path, response)

    def cancel(self, job_id: str) -> dict:
        """Cancel a queued or running job (POST /cancel/{id}; hosted API only)."""
        return self._call_api("POST", f"/cancel/{job_id}")

    def wait(
        self,
        job_id: str,
        on_progress: Callable[[Any], None] | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Poll ``status`` until COMPLETED, FAILED, CANCELLED or TIMED_OUT; returns the last status body.

        ``on_progress`` gets each new IN_PROGRESS output (the worker's progress updates, e.g.
        ``{"stage": "synthesis", "chunk": 2, "chunks": 5}``) once, in order. The pause between polls
        starts at ``poll_interval`` and doubles up to ``max_poll_interval``. Raises
        :class:`WaitTimeout` after ``timeout`` seconds (default ``wait_timeout``).
        """
        limit = self.wait_timeout if timeout is None else timeout
        started = time.monotonic()
        delay = self.poll_interval
        last_status = None
        last_progress: Any = None
        while True:
            body = self.status(job_id)
            last_status = body.get("status")
            if last_status in FINAL_STATUSES:
                return body
            progress = body.get("output")
            if last_status == "IN_PROGRESS" and progress is not None and progress != last_progress:
                last_progress = progress
                if on_progress is not None:
                    on_progress(progress)
            remaining = limit - (time.monotonic() - started)
            if remaining <= 0:
                raise WaitTimeout(job_id, time.monotonic() - started, last_status)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, self.max_poll_interval)

    @staticmethod
    def output_of(body: dict) -> Any:
        """The output of a final status body, or :class:`JobFailed`."""
        status = body.get("status")
        job_id = body.get("id")
        if status == "COMPLETED":
            output = final_item(body.get("output"))
            if isinstance(output, dict) and isinstance(output.get("error"), str):
                raise parse_error(output["error"], "FAILED", job_id)
            return output
        if status == "FAILED":
            raise parse_error(body.get("error"), status, job_id)
        if status == "CANCELLED":
            raise JobFailed("cancelled", "the job was cancelled", status, job_id)
        if status == "TIMED_OUT":
            raise JobFailed("timed_out", "the job ran past the endpoint's execution timeout", status, job_id)
        raise ClientError(f"job {job_id} is not finished (status {status!r})")

    def call(
        self,
        job_input: dict,
        sync: bool = False,
        on_progress: Callable[[Any], None] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Run a job to its end and return its output; a failed job raises :class:`JobFailed`.

        ``sync=True`` uses /runsync (polling on if the server stops waiting first); otherwise /run
        then :meth:`wait`.
        """
        if sync:
            body = self.runsync(job_input)
            if body.get("status") not in FINAL_STATUSES:
                body = self.wait(str(body["id"]), on_progress, timeout)
        else:
            body = self.wait(self.run(job_input), on_progress, timeout)
        return self.output_of(body)

    # ------------------------------------------------------------------ endpoints

    def tts(
        self,
        text: str,
        voice: str | None = None,
        *,
        sync: bool = False,
        on_progress: Callable[[Any], None] | None = None,
        **params: Any,
    ) -> dict:
        """Speech for ``text`` in a stored ``voice`` or a ``ref_audio`` (URL, base64, storage key, Path, bytes).

        ``stream=True`` (a streaming endpoint) with ``on_chunk=callable`` gets each chunk item as it
        arrives (:meth:`stream`); the return value is the usual output either way.
        """
        on_chunk = params.pop("on_chunk", None)
        job = {"endpoint": "tts", "text": text, **params}
        if voice is not None:
            job["voice"] = voice
        if "ref_audio" in job:
            job["ref_audio"] = _audio_value(job["ref_audio"])
        if job.get("stream"):
            return self.stream(job, on_chunk=on_chunk, on_progress=on_progress)
        return self.call(job, sync=sync, on_progress=on_progress)

    def stream(
        self,
        job_input: dict,
        on_chunk: Callable[[dict], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Run a job on a streaming endpoint (``STREAM_HANDLER=true``), handing each chunk item to
        ``on_chunk`` as it arrives; returns the job's usual output (its last item).

        Hosted RunPod: ``/run``, then ``GET /stream/{id}`` until the job ends (each call returns the
        items posted since the last). The SDK's local API answers ``POST /stream/{id}`` once, with every
        item, when the job is done. If ``on_chunk`` raises (or the caller is interrupted) the job is
        cancelled, so the worker stops at its next chunk and keeps no outputs.
        """
        limit = self.wait_timeout if timeout is None else timeout
        job_id = self.run(job_input)
        started = time.monotonic()
        delay = self.poll_interval
        final: Any = None
        try:
            while True:
                body = self._stream_call(job_id)
                for entry in body.get("stream") or ():
                    item = entry.get("output") if isinstance(entry, dict) and "output" in entry else entry
                    if isinstance(item, dict) and item.get("type") == "chunk":
                        if on_chunk is not None:
                            on_chunk(item)
                    elif item is not None:
                        final = item
                status = body.get("status")
                if status in FINAL_STATUSES:
                    break
                if status == "IN_PROGRESS" and on_progress is not None and body.get("output") is not None:
                    on_progress(body["output"])
                if time.monotonic() - started > limit:
                    raise WaitTimeout(job_id, time.monotonic() - started, status)
                time.sleep(delay)
                delay = min(delay * 2, self.max_poll_interval)
        except BaseException:
            with contextlib.suppress(ClientError):
                if not self.local:
                    self.cancel(job_id)
            raise
        if status == "COMPLETED" and final is not None:
            return self.output_of({"status": "COMPLETED", "id": job_id, "output": final})
        if status == "COMPLETED" and not self.local:
            return self.output_of(self.status(job_id))
        return self.output_of({**body, "id": job_id})

    def _stream_call(self, job_id: str) -> dict:
        """GET /stream/{id} on RunPod; POST on the local API (which runs the queued job then)."""
        path = f"/stream/{job_id}"
        if self.local:
            return self._call_api("POST", path)
        response = self._request("GET", path)
        if response.status_code == 405 and self.local is None:
            self.local = True
            return self._call_api("POST", path)
        return self._json("GET", path, response)

    def stt(
        self, audio: Any, *, sync: bool = False, on_progress: Callable[[Any], None] | None = None, **params: Any
    ) -> dict:
        """Words and timing files for ``audio`` (URL, base64, storage key, Path or bytes)."""
        job = {"endpoint": "stt", "audio": _audio_value(audio), **params}
        return self.call(job, sync=sync, on_progress=on_progress)

    def download(self, job_id: str, file: str, delivery: str | None = None) -> dict:
        """One stored file of an earlier job: ``url``, ``base64`` or ``text`` (``delivery``)."""
        job = {"endpoint": "download", "job_id": job_id, "file": file}
        if delivery is not None:
            job["delivery"] = delivery
        return self.call(job, sync=True)

    def result(self, job_id: str) -> dict:
        """The stored result of an earlier tts/stt job: ``{"job_id", "endpoint", "created_at", "output"}``."""
        return self.call({"endpoint": "result", "job_id": job_id}, sync=True)

    def voices(self, action: str, **params: Any) -> dict:
        """``list``, ``upload`` (``name``, ``audio``, ``text``, ``overwrite``) or ``delete`` (``name``)."""
        if "audio" in params:
            params["audio"] = _audio_value(params["audio"])
        return self.call({"endpoint": "voices", "action": action, **params}, sync=True)

    def health(self) -> dict:
        """The worker's own health report (a job, not RunPod's endpoint statistics)."""
        return self.call({"endpoint": "health"}, sync=True)

    # ------------------------------------------------------------------ files

    def save_outputs(self, output: Mapping, out_dir: str | os.PathLike, download: bool = True) -> dict[str, Path]:
        """Save the audio and every timing file of a tts/stt output (or a ``result`` record) in ``out_dir``.

        Each file comes from its presigned ``url``, its inline ``base64`` / ``text``, or, when neither
        is there (or the URL has expired) and ``download`` is true, from the ``download`` endpoint.
        Files are written under a temp name and renamed. Returns ``{"audio" | format: path}``.
        """
        if "output" in output and "endpoint" in output:  # a result record
            output = output["output"]
        job_id = output.get("job_id")
        entries: dict[str, Mapping] = {}
        if isinstance(output.get("audio"), Mapping):
            entries["audio"] = output["audio"]
        timings = output.get("timings")
        files = timings.get("files") if isinstance(timings, Mapping) else output.get("files")
        for fmt, entry in (files or {}).items():
            entries[fmt] = entry
        out = Path(out_dir)
        saved: dict[str, Path] = {}
        for name, entry in entries.items():
            target = out / self._file_name(name, entry)
            saved[name] = self._save_entry(name, entry, target, job_id, download)
        return saved

    @staticmethod
    def _file_name(name: str, entry: Mapping) -> str:
        key = entry.get("key")
        if isinstance(key, str) and "/" in key:
            return key.rsplit("/", 1)[-1]
        if name == "audio":
            return f"audio.{entry.get('format', 'wav')}"
        return f"timings.{name}"

    def save_download(self, entry: Mapping, out_dir: str | os.PathLike) -> Path:
        """Save the file of one ``download`` output (url, base64 or text) in ``out_dir``."""
        name = str(entry.get("file") or "file")
        target = Path(out_dir) / self._file_name(name, entry)
        return self._save_entry(name, entry, target, entry.get("job_id"), download=True)

    def _save_entry(self, name: str, entry: Mapping, target: Path, job_id: Any, download: bool) -> Path:
        if isinstance(entry.get("base64"), str):
            return _write_atomic(target, base64.b64decode(entry["base64"]))
        if isinstance(entry.get("text"), str):
            return _write_atomic(target, entry["text"].encode("utf-8"))
        url_error = None
        if isinstance(entry.get("url"), str):
            try:
                return self._fetch_url(entry["url"], target)
            except ClientError as exc:
                if not (download and job_id):
                    raise
                url_error = exc
                log.info("%s: URL failed (%s); asking the download endpoint", name, exc)
        if not (download and job_id):
            raise ClientError(f"{name}: the output carries no url, base64 or text; use download=True")
        # A fresh presigned URL when the old one failed; otherwise the bytes inline.
        delivery = None if url_error else ("text" if name in TIMING_FILES else "base64")
        fresh = self.download(str(job_id), name, delivery)
        return self._save_entry(name, fresh, target, job_id, download=False)

    def _fetch_url(self, url: str, target: Path) -> Path:
        shown = url.split("?", 1)[0]  # the query holds the signature
        try:
            with self.files_session.get(url, stream=True, timeout=self.timeout) as response:
                if not response.ok:
                    raise ClientError(f"GET {shown}: HTTP {response.status_code}", response.status_code)
                return _write_atomic(target, chunks=response.iter_content(chunk_size=1 << 16))
        except requests.RequestException as exc:
            raise ClientError(f"GET {shown}: {type(exc).__name__}") from None
