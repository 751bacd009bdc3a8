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
)


class WorkerError(Exception):
    """A failure the caller should see, with one of :data:`ERROR_CODES`."""

    code = "internal_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def as_output(self) -> dict[str, str]:
        return {"error": f"{self.code}: {self.message}"}


class InvalidInput(WorkerError):
    code = "invalid_input"


class NotFound(WorkerError):
    code = "not_found"


class PayloadTooLarge(WorkerError):
    code = "payload_too_large"


class EngineUnavailable(WorkerError):
    code = "engine_unavailable"


class StorageError(WorkerError):
    code = "storage_error"


class ConfigError(Exception):
    """Start-up configuration is unusable; the worker must not start serving with it."""
