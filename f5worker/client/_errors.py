"""What a call can raise: the endpoint unusable, the job failed, the wait given up; the worker's error string parsed."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

_ERROR_CODE = re.compile(r"^([a-z][a-z0-9_]*): (.*)\Z", re.S)


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
