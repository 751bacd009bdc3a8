"""Request schemas, one pydantic model per endpoint; unknown fields are refused.

``strict`` keeps JSON types honest: ``"5"`` is not a number and ``1`` is not ``true``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from .media.dialogue import is_dialogue
from .media.subtitles import TIMING_FORMATS, CaptionOptions
from .storage.layout import JOB_ID_PATTERN, VOICE_NAME_PATTERN

JobId = Annotated[str, StringConstraints(pattern=JOB_ID_PATTERN)]
DownloadFile = Literal["audio", "srt", "vtt", "ass", "csv", "json"]
Delivery = Literal["url", "base64", "text"]
TimingFormat = Literal["srt", "vtt", "ass", "csv", "json"]
TimingEngine = Literal["auto", "whisperx", "google"]
VoiceName = Annotated[str, StringConstraints(pattern=VOICE_NAME_PATTERN)]
AudioFormat = Literal["wav", "flac", "mp3", "ogg"]
SampleRate = Literal[8000, 16000, 22050, 24000, 32000, 44100, 48000]
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
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
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


class DialogueSegmentRequest(Request):
    """One voice turn of a multi-voice job."""

    voice: VoiceName | None = Field(None, description="A stored voice; the job's voice/ref_audio when absent.")
    text: str = Field(min_length=1, description="What this voice says.")
    speed: float | None = Field(None, ge=0.3, le=3.0, description="This turn's speed; the job's when absent.")


AssColor = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]


class TtsRequest(TimingFields):
    """F5-TTS parameters keep f5-tts's own defaults (its CLI's), with ranges that keep audio sane."""

    endpoint: Literal["tts"]
    text: str | None = Field(None, min_length=1, description="What to say (at most MAX_TEXT_CHARS characters); "
                             "starting with a '[voice]' tag makes it multi-voice dialogue.")  # fmt: skip
    segments: list[DialogueSegmentRequest] | None = Field(
        None, min_length=1, max_length=200, description="Multi-voice dialogue as voice turns (instead of text)."
    )
    segment_pause_s: float | None = Field(
        None, ge=0.0, le=5.0, description="Silence between voice turns; absent: turns join with the cross-fade."
    )
    speaker_labels: bool | None = Field(
        None, description="SRT: prefix a cue with its speaker's name when the speaker changes (default: on for "
        "multi-voice jobs)."
    )  # fmt: skip
    speaker_colors: dict[VoiceName, AssColor] | None = Field(
        None, max_length=50, description="ASS: '#RRGGBB' text colour per speaker (others get distinct defaults)."
    )
    voice: VoiceName | None = Field(None, description="A stored voice (voices/<name>.*).")
    ref_audio: str | None = Field(None, min_length=1, description="Reference audio: http(s) URL or base64.")
    ref_text: str | None = Field(None, min_length=1, description="What the reference says; transcribed if absent.")
    nfe_step: int = Field(32, ge=4, le=64, description="Denoising steps: quality against speed.")
    cfg_strength: float = Field(2.0, ge=0.0, le=10.0)
    sway_sampling_coef: float = Field(-1.0, ge=-1.0, le=1.0)
    target_rms: float = Field(0.1, gt=0.0, le=1.0)
    cross_fade_duration: float = Field(0.15, ge=0.0, le=1.0, description="Seconds of cross-fade between chunks.")
    speed: float = Field(1.0, ge=0.3, le=3.0)
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Random when absent; always returned.")
    fix_duration: float | None = Field(None, gt=0.0, le=600.0, description="Total seconds of reference + speech.")
    remove_silence: bool = Field(False, description="Shorten long silences in the output.")
    normalize_text: bool = Field(True, description="Spell out numbers, currency, abbreviations before synthesis.")
    output_format: AudioFormat = "wav"
    sample_rate: SampleRate = 24000
    return_audio: Literal["url", "base64", "both"] | None = Field(None, description="url on S3, base64 on local.")
    return_word_timings: bool = Field(False, description="Time every word of the output and write timing files.")
    stream: bool = Field(False, description="Stream each chunk's audio as it is made (STREAM_HANDLER workers).")

    @model_validator(mode="after")
    def _one_voice_source(self) -> TtsRequest:
        if self.text is None and self.segments is None:
            raise ValueError("text: required field is missing (or give 'segments')")
        if self.text is not None and self.segments is not None:
            raise ValueError("segments: give either 'text' or 'segments', not both")
        both = self.voice is not None and self.ref_audio is not None
        multi_voice = self.segments is not None or is_dialogue(self.text)
        if both or (not multi_voice and self.voice is None and self.ref_audio is None):
            raise ValueError("voice: give either 'voice' (a stored voice) or 'ref_audio', not both or neither")
        return self

    @property
    def is_multi_voice(self) -> bool:
        return self.segments is not None or is_dialogue(self.text)

    @property
    def total_text(self) -> str:
        """Every word the job speaks (tags included), for the length limit."""
        return self.text if self.text is not None else " ".join(segment.text for segment in self.segments or ())


class VoicesRequest(Request):
    endpoint: Literal["voices"]
    action: Literal["list", "upload", "delete"]
    name: VoiceName | None = Field(None, description="Voice name for upload and delete.")
    audio: str | None = Field(None, min_length=1, description="upload: http(s) URL or base64 audio.")
    text: str | None = Field(None, min_length=1, description="upload: the reference text.")
    overwrite: bool = False

    @model_validator(mode="after")
    def _fields_for_action(self) -> VoicesRequest:
        if self.action in ("upload", "delete") and self.name is None:
            raise ValueError(f"name: required for action '{self.action}'")
        if self.action == "upload" and self.audio is None:
            raise ValueError("audio: required for action 'upload'")
        return self
