"""The error contract: every failure reaches the caller as ``{"error": "<code>: <message>"}``.

RunPod shows only the ``error`` string of a failed job, so the code and the offending field
must both live inside that one string.
"""

from __future__ import annotations

import math
from typing import Any

ERROR_CODES = (
    "invalid_input",
    "not_found",
    "payload_too_large",
    "engine_unavailable",
    "storage_error",
    "internal_error",
    "cancelled",
)


# Values echoed in messages: short strings and numbers as they came, anything longer by its type only.
MAX_SHOWN_CHARS = 40
# Whatever a message holds, the caller gets at most this much of it (the end cut, marked with "...").
MAX_MESSAGE_CHARS = 1000
_JSON_TYPES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    dict: "an object",
    list: "an array",
}


def json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def shown(value: Any) -> str:
    """``value`` as an error message may echo it: short strings and numbers whole, long ones described.

    The one helper for echoing a caller's value: a megabyte string or a 4,000-digit number never comes
    back whole (an integer's size is judged by its bits, before Python would spell out its digits).
    """
    if isinstance(value, str):
        if not value:
            return "an empty string"
        return repr(value) if len(value) <= MAX_SHOWN_CHARS else f"a string of {len(value)} characters"
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() <= 128:  # at most 39 digits
            return str(value)
        return f"an integer of about {math.floor((value.bit_length() - 1) * math.log10(2)) + 1} digits"
    if isinstance(value, float):
        return repr(value)
    return json_type(value)


def bounded_message(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[: MAX_MESSAGE_CHARS - 3] + "..."


class WorkerError(Exception):
    """A failure the caller should see, with one of :data:`ERROR_CODES`; its message is bounded
    (``MAX_MESSAGE_CHARS``) whatever it echoes."""

    code = "internal_error"

    def __init__(self, message: str):
        message = bounded_message(message)
        super().__init__(message)
        self.message = message

    refresh_worker = False

    def as_output(self) -> dict:
        output: dict = {"error": f"{self.code}: {self.message}"}
        if self.refresh_worker:
            output["refresh_worker"] = True
        return output


class InvalidInput(WorkerError):
    code = "invalid_input"


class NotFound(WorkerError):
    code = "not_found"


class PayloadTooLarge(WorkerError):
    code = "payload_too_large"


class EngineUnavailable(WorkerError):
    code = "engine_unavailable"


class EngineBroken(EngineUnavailable):
    """The engine is in a state this process cannot recover from (CUDA out of memory, a dead GPU
    context): the job fails and the result asks RunPod to replace the worker (``refresh_worker``)."""

    refresh_worker = True


class StorageError(WorkerError):
    code = "storage_error"


class JobCancelled(WorkerError):
    """The caller cancelled the job (RunPod /cancel, or a streaming caller went away): stop, store nothing."""

    code = "cancelled"


class ConfigError(Exception):
    """Start-up configuration is unusable; the worker must not start serving with it."""
