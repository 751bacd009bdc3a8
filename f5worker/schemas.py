"""Request schemas, one pydantic model per endpoint; unknown fields are refused.

``strict`` keeps JSON types honest: ``"5"`` is not a number and ``1`` is not ``true``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .media.subtitles import TIMING_FORMATS, CaptionOptions
from .storage.layout import JOB_ID_PATTERN

JobId = Annotated[str, StringConstraints(pattern=JOB_ID_PATTERN)]
DownloadFile = Literal["audio", "srt", "vtt", "ass", "csv", "json"]
Delivery = Literal["url", "base64", "text"]
TimingFormat = Literal["srt", "vtt", "ass", "csv", "json"]
TimingEngine = Literal["auto", "whisperx", "google"]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class HealthRequest(Request):
    endpoint: Literal["health"]


class ResultRequest(Request):
    endpoint: Literal["result"]
    job_id: JobId = Field(description="Id of an earlier tts/stt job.")


class DownloadRequest(Request):
    endpoint: Literal["download"]
    job_id: JobId = Field(description="Id of an earlier tts/stt job.")
    file: DownloadFile = Field(description="Which stored file of that job.")
    delivery: Delivery | None = Field(None, description="url (S3 default), base64 (local default) or text.")


class PendingEngineRequest(Request):
    """Placeholder for endpoints whose engine is not built yet: any fields pass, the engine check answers."""

    model_config = ConfigDict(extra="allow")
    endpoint: Literal["tts"]


class TimingFields(CaptionOptions):
    """What tts and stt share about timing files: which engine, which formats, how delivered."""

    model_config = ConfigDict(extra="forbid", strict=True)
    timing_engine: TimingEngine = Field("auto", description="auto: WhisperX, then Google; or one engine only.")
    timing_formats: list[TimingFormat] = Field(
        default_factory=lambda: list(TIMING_FORMATS), max_length=5, description="Timing files to produce."
    )
    delivery: Literal["url", "text"] | None = Field(None, description="Timing files as URLs (S3) or inline text.")

    def caption_options(self) -> CaptionOptions:
        return CaptionOptions(**{name: getattr(self, name) for name in CaptionOptions.model_fields})


class SttRequest(TimingFields):
    endpoint: Literal["stt"]
    audio: str = Field(min_length=1, description="http(s) URL, base64 (data: prefix optional) or voices/ outputs/ key.")
    language: LanguageCode | None = Field(None, description="Spoken language (e.g. 'en'); detected when absent.")
    text: str | None = Field(None, min_length=1, description="Known transcript: times for exactly these words.")


_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}
_EXPECTED = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "dict_type": "expected an object",
    "list_type": "expected an array",
    "model_type": "expected an object",
    "missing": "required field is missing",
}


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _describe_error(err: dict, model: type[BaseModel]) -> str:
    field = ".".join(str(part) for part in err["loc"]) or "input"
    kind = err["type"]
    if kind == "extra_forbidden":
        accepted = ", ".join(model.model_fields)
        return f"{field}: unknown field (this endpoint accepts: {accepted})"
    if kind == "literal_error":
        value = err.get("input")
        shown = f"; got {value!r}" if isinstance(value, str) and len(value) <= 40 else ""
        return f"{field}: expected one of {err['ctx']['expected']}{shown}"
    if kind == "string_pattern_mismatch":
        return f"{field}: must match {err['ctx']['pattern']}"
    if kind in _EXPECTED:
        got = "" if kind == "missing" else f" (got {_json_type(err.get('input'))})"
        return f"{field}: {_EXPECTED[kind]}{got}"
    return f"{field}: {err['msg']}"


def describe_validation_error(exc: ValidationError, model: type[BaseModel], limit: int = 3) -> str:
    """Name each offending field and what was expected, without echoing large or secret values."""
    errors = exc.errors(include_url=False)
    parts = [_describe_error(err, model) for err in errors[:limit]]
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)
