"""A small client for the worker: RunPod's hosted serverless API, or the SDK's local API.

Only the standard library and ``requests`` (urllib3's ``Retry`` through requests' ``HTTPAdapter`` does
connection-level retries). Nothing else of this package is imported, so the folder can be copied
into a video pipeline on its own. Private modules behind this one public surface: ``_http`` (the
transport), ``_jobs`` (submit, poll, stream), ``_files`` (saving outputs), ``_errors``.

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
import os
from collections.abc import Callable
from typing import Any

from ._errors import ClientError, JobFailed, WaitTimeout, parse_error
from ._files import TIMING_FILES, OutputFiles, encode_file, stream_audio
from ._jobs import FINAL_STATUSES, Jobs, final_item

__all__ = [
    "FINAL_STATUSES",
    "TIMING_FILES",
    "ClientError",
    "JobFailed",
    "RunPodClient",
    "WaitTimeout",
    "encode_file",
    "final_item",
    "parse_error",
    "stream_audio",
]


def _audio_value(value: Any) -> Any:
    """Paths and bytes become base64; strings (URL, base64, storage key) pass unchanged."""
    if isinstance(value, os.PathLike):
        return encode_file(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


class RunPodClient(OutputFiles, Jobs):
    """Jobs on one endpoint: submit, poll, fetch results and files; one method per worker endpoint.

    Arguments fall back to the environment: ``RUNPOD_ENDPOINT_ID``, ``RUNPOD_API_KEY`` and
    ``RUNPOD_BASE_URL``. ``base_url`` wins over ``endpoint_id``; without it the URL is
    ``https://api.runpod.ai/v2/<endpoint_id>`` and an API key is required.

    ``timeout`` is the limit of one HTTP request (a local ``/status`` or a ``/runsync`` lasts as long
    as the job); ``wait_timeout`` the default limit of :meth:`wait`. Polling starts at ``poll_interval``
    seconds and doubles up to ``max_poll_interval``. ``retries`` (or a urllib3 ``Retry``) applies to
    connection errors for every request and to 429/5xx answers for GET only: re-sending a POST
    ``/run`` could queue the job twice, and a local POST ``/status`` runs the job.
    """

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
