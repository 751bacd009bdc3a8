"""The error contract: every failure reaches the caller as ``{"error": "<code>: <message>"}``.

RunPod shows only the ``error`` string of a failed job, so the code and the offending field
must both live inside that one string.
"""

from __future__ import annotations

ERROR_CODES = (
    "invalid_input",
    "not_found",
    "payload_too_large",
    "engine_unavailable",
    "storage_error",
    "internal_error",
    "cancelled",
)


class WorkerError(Exception):
    """A failure the caller should see, with one of :data:`ERROR_CODES`."""

    code = "internal_error"

    def __init__(self, message: str):
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
