"""Jobs on the RunPod API: submit, poll with backoff, read a stream, turn a final status into output or error."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from ._errors import ClientError, JobFailed, WaitTimeout, parse_error
from ._http import Transport

FINAL_STATUSES = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")


def final_item(output: Any) -> Any:
    """A job's usual output: itself, or on a streaming endpoint (``STREAM_HANDLER=true``, where RunPod
    returns every yielded item as a list) the last item, which always carries the usual output, or the
    ``output_part`` items it was split into (an output over RunPod's 1 MB per streamed item), joined."""
    if isinstance(output, list) and output and isinstance(output[-1], dict):
        parts = [item for item in output if isinstance(item, dict) and item.get("type") == "output_part"]
        return joined_output(parts) if parts else output[-1]
    return output


def joined_output(parts: list[dict]) -> Any:
    """The output that ``output_part`` items carry: their ``json`` strings in ``part`` order, parsed."""
    ordered = sorted(parts, key=lambda item: item["part"])
    if [item["part"] for item in ordered] != list(range(ordered[0]["parts"])):
        raise ClientError(f"the job's output came in {len(parts)} of {ordered[0]['parts']} parts")
    return json.loads("".join(item["json"] for item in ordered))


class Jobs(Transport):
    """The job calls of the RunPod API (``/run``, ``/runsync``, ``/status``, ``/stream``, ``/cancel``)."""

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
        return self._get_or_post(f"/status/{job_id}")

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
        parts: list[dict] = []
        try:
            while True:
                body = self._stream_call(job_id)
                for entry in body.get("stream") or ():
                    item = entry.get("output") if isinstance(entry, dict) and "output" in entry else entry
                    if isinstance(item, dict) and item.get("type") == "chunk":
                        if on_chunk is not None:
                            on_chunk(item)
                    elif isinstance(item, dict) and item.get("type") == "output_part":
                        parts.append(item)
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
        if status == "COMPLETED" and parts:
            final = joined_output(parts)
        if status == "COMPLETED" and final is not None:
            return self.output_of({"status": "COMPLETED", "id": job_id, "output": final})
        if status == "COMPLETED" and not self.local:
            return self.output_of(self.status(job_id))
        return self.output_of({**body, "id": job_id})

    def _stream_call(self, job_id: str) -> dict:
        """GET /stream/{id} on RunPod; POST on the local API (which runs the queued job then)."""
        return self._get_or_post(f"/stream/{job_id}")
