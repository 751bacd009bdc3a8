"""Request schemas, one pydantic model per endpoint; unknown fields are refused.

``strict`` keeps JSON types honest: ``"5"`` is not a number and ``1`` is not ``true``. Limits that
depend on the worker's settings (``MAX_TEXT_CHARS``) are checked here too, once, from the validation
context that :func:`f5worker.dispatch.parse_request` passes (``{"settings": Settings}``).
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .audio_rates import F5_SAMPLE_RATE
from .captions.options import CaptionOptions
from .errors import InvalidInput, json_type, shown
from .media.dialogue import is_dialogue, parse_tagged_text
from .media.pauses import has_pause_tags, split_pauses
from .media.pronunciations import lexicon_problem
from .settings import TimingEngineName
from .storage.layout import JOB_ID_PATTERN, VOICE_NAME_PATTERN
from .voice_library import VoicePresets
from .words import TIMING_FORMATS

# Voice turns in one job, whatever the form ('segments' or '[voice]'-tagged text).
MAX_TURNS = 200
TOO_LARGE = "payload_too_large"  # the pydantic error type that dispatch turns into payload_too_large


def _unique(items: list) -> list:
    seen = set()
    for item in items:
        if item in seen:
            raise PydanticCustomError("duplicate", "expected each value once (got '{item}' twice)", {"item": item})
        seen.add(item)
    return items


def _within_text_limit(text: str | None, info: ValidationInfo) -> str | None:
    """MAX_TEXT_CHARS, when the caller passed the worker's settings as validation context."""
    settings = (info.context or {}).get("settings")
    if text is not None and settings is not None and len(text) > settings.max_text_chars:
        raise PydanticCustomError(
            TOO_LARGE,
            "{length} characters, over the {limit}-character limit (MAX_TEXT_CHARS)",
            {"length": len(text), "limit": settings.max_text_chars},
        )
    return text


def _is_blank(text: str) -> bool:
    """Only whitespace (any Unicode space or line break) and invisible characters (zero-width, controls)."""
    return all(char.isspace() or unicodedata.category(char) in ("Cc", "Cf") for char in text)


def _has_words(text: str | None) -> str | None:
    if text is not None and _is_blank(text):
        raise PydanticCustomError("no_words", "contains no words to speak")
    return text


def _is_not_blank(text: str | None) -> str | None:
    if text is not None and _is_blank(text):
        raise PydanticCustomError(
            "no_words", "contains only spaces or invisible characters; give the words or leave it out"
        )
    return text


def _usable_lexicon(entries: dict[str, str]) -> dict[str, str]:
    problem = lexicon_problem(entries)
    if problem:
        raise PydanticCustomError("lexicon", problem)
    return entries


JobId = Annotated[str, StringConstraints(pattern=JOB_ID_PATTERN)]
TimingFormat = Literal[TIMING_FORMATS]  # type: ignore[valid-type]  # one tuple, in words.py
DownloadFile = Literal[("audio", *TIMING_FORMATS)]  # type: ignore[valid-type]
Delivery = Literal["url", "base64", "text"]
TimingEngine = Literal["auto", TimingEngineName]  # the names: one Literal, in settings.py
# stt: how the words get their times (f5worker/timing/engine_choice.py; API.md): the recognisers' own
# times (``whisper``, ``google``), forced alignment (``aligner``), WhisperX alignment (``whisperx``).
SttTimingEngine = Literal["auto", "aligner", "whisper", TimingEngineName]
VoiceName = Annotated[str, StringConstraints(pattern=VOICE_NAME_PATTERN)]
AudioFormat = Literal["wav", "flac", "mp3", "ogg"]
SampleRate = Literal[8000, 16000, 22050, 24000, 32000, 44100, 48000]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")]
# {typed word: respelling}: the rules and limits are media/pronunciations.py's.
Pronunciations = Annotated[dict[str, str], AfterValidator(_usable_lexicon)]
# Text to speak or align: not empty, some words, at most MAX_TEXT_CHARS (the only place these are checked).
SpokenText = Annotated[str, Field(min_length=1), AfterValidator(_has_words), AfterValidator(_within_text_limit)]
# What a reference recording says: some visible text when given (blank is not "absent").
ReferenceText = Annotated[str, Field(min_length=1), AfterValidator(_is_not_blank)]


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
    timing_formats: Annotated[list[TimingFormat], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(TIMING_FORMATS),
        max_length=len(TIMING_FORMATS),
        description="Timing files to produce, each at most once.",
    )
    delivery: Literal["url", "text"] | None = Field(None, description="Timing files as URLs (S3) or inline text.")

    def caption_options(self) -> CaptionOptions:
        return CaptionOptions(**{name: getattr(self, name) for name in CaptionOptions.model_fields})


class SttRequest(TimingFields):
    endpoint: Literal["stt"]
    audio: str = Field(min_length=1, description="http(s) URL, base64 (data: prefix optional) or voices/ outputs/ key.")
    language: LanguageCode | None = Field(None, description="Spoken language (e.g. 'en'); detected when absent.")
    text: SpokenText | None = Field(None, description="Known transcript: times for exactly these words.")
    pronunciations: Pronunciations | None = Field(
        None, description="With text: how the script's words are said ({word: respelling}), for the aligner."
    )
    lexicon: VoiceName | None = Field(None, description="With text: a stored lexicon (pronunciations wins over it).")

    verify: bool = Field(
        False, description="With text: also check that the audio says the text (script_check in the output)."
    )

    timing_engine: SttTimingEngine = Field(
        "auto",
        description="auto: the most accurate available (English: forced alignment); aligner: forced alignment; "
        "whisperx: WhisperX (wav2vec2) alignment; whisper, google: the recogniser's own times.",
    )

    @model_validator(mode="after")
    def _pronunciations_need_text(self) -> SttRequest:
        for name in ("pronunciations", "lexicon"):
            if getattr(self, name) is not None and self.text is None:
                raise ValueError(f"{name}: applies only to a known transcript; give 'text' too, or leave it out")
        return self

    @model_validator(mode="after")
    def _verify_needs_text(self) -> SttRequest:
        if self.verify and self.text is None:
            raise ValueError("verify: checks the audio against 'text'; give the text, or leave verify out")
        return self


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
_BOUNDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
_BOUND_ERRORS = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le", "less_than": "lt"}


def _range(model: type[BaseModel], loc: tuple, kind: str, ctx: dict) -> str:
    """ "an integer from 4 to 64": both bounds of a top-level field, else the one that failed."""
    info = model.model_fields.get(loc[0]) if len(loc) == 1 else None
    bounds = {kind: ctx[kind]}
    what = "a number"
    if info is not None:
        for constraint in info.metadata:
            bounds.update({name: getattr(constraint, name) for name in _BOUNDS if hasattr(constraint, name)})
        if info.annotation is int or int in get_args(info.annotation):
            what = "an integer"
    if bounds.keys() == {"ge", "le"}:
        return f"{what} from {bounds['ge']} to {bounds['le']}"
    return f"{what} " + " and ".join(f"{_BOUNDS[name]} {value}" for name, value in bounds.items())


def _owner(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model whose field ``loc`` names: a nested object's own model (``presets.sped``), else ``model``."""
    owner = model
    for part in loc[:-1]:
        if isinstance(part, int):  # an item of a list: the list's own model is already the owner
            continue
        info = owner.model_fields.get(part)
        found = _model_in(info.annotation) if info else None
        if found is None:
            return model
        owner = found
    return owner


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation (``Model | None``, ``list[Model] | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((found for arg in get_args(annotation) if (found := _model_in(arg)) is not None), None)


def _describe_error(err: dict, model: type[BaseModel]) -> str:
    field = ".".join(str(part) for part in err["loc"]) or "input"
    if len(field) > 60:  # an unknown key can be any size: never echo a megabyte back
        field = field[:57] + "..."
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        fields = list(_owner(model, err["loc"]).model_fields)
        close = difflib.get_close_matches(name, fields, n=1) if len(name) <= 60 else []
        return f"{field}: unknown field; did you mean {close[0]!r}?" if close else f"{field}: unknown field"
    if kind == "literal_error":
        expected = ctx["expected"]
        if isinstance(value, str) and not expected.startswith("'"):  # "44100" for 44100: the type is the problem
            return f"{field}: expected an integer (got a string)"
        got = json_type(value) if expected.startswith("'") and not isinstance(value, str) else shown(value)
        return f"{field}: expected one of {expected} (got {got})"
    if kind == "string_pattern_mismatch":
        return f"{field}: must match {ctx['pattern']}"
    if kind in _BOUND_ERRORS:
        return f"{field}: expected {_range(model, err['loc'], _BOUND_ERRORS[kind], ctx)} (got {shown(value)})"
    if kind in ("string_too_short", "string_too_long"):
        bound = "at least" if kind == "string_too_short" else "at most"
        limit = ctx.get("min_length", ctx.get("max_length"))
        got = "an empty string" if value == "" else f"{len(value)} characters"
        return f"{field}: expected {bound} {limit} character{'s' * (limit != 1)} (got {got})"
    if kind in ("too_short", "too_long"):
        bound = "at least" if kind == "too_short" else "at most"
        limit = ctx.get("min_length", ctx.get("max_length"))
        return f"{field}: expected {bound} {limit} item{'s' * (limit != 1)} (got {ctx.get('actual_length')})"
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    if kind in _EXPECTED:
        got = "" if kind == "missing" else f" (got {json_type(value)})"
        return f"{field}: {_EXPECTED[kind]}{got}"
    return f"{field}: {err['msg']}"


def describe_validation_error(exc: ValidationError, model: type[BaseModel], limit: int = 3) -> str:
    """Name each offending field and what was expected, without echoing large or secret values.

    An unknown field gets the closest accepted name; when some have none, the accepted fields are
    listed once at the end.
    """
    errors = exc.errors(include_url=False)
    parts = [_describe_error(err, model) for err in errors[:limit]]
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    unknown = [err["loc"] for err in errors[:limit] if err["type"] == "extra_forbidden"]
    if any(part.endswith(": unknown field") for part in parts):
        parts.append(f"accepted fields: {', '.join(sorted(_owner(model, unknown[0]).model_fields))}")
    return "; ".join(parts)


def is_too_large(exc: ValidationError) -> bool:
    """Every problem is a size limit (``payload_too_large``), not a malformed request."""
    return all(err["type"] == TOO_LARGE for err in exc.errors())


class DialogueSegmentRequest(Request):
    """One voice turn of a multi-voice job."""

    voice: VoiceName | None = Field(None, description="A stored voice; the job's voice/ref_audio when absent.")
    text: SpokenText = Field(description="What this voice says.")
    speed: float | None = Field(None, ge=0.3, le=3.0, description="This turn's speed; the job's when absent.")


AssColor = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]


class TtsRequest(TimingFields):
    """F5-TTS parameters keep f5-tts's own defaults (its CLI's), with ranges that keep audio sane."""

    endpoint: Literal["tts"]
    text: SpokenText | None = Field(
        None,
        description="What to say (at most MAX_TEXT_CHARS characters); "
        "starting with a '[voice]' tag makes it multi-voice dialogue.",
    )
    segments: list[DialogueSegmentRequest] | None = Field(
        None, min_length=1, max_length=MAX_TURNS, description="Multi-voice dialogue as voice turns (instead of text)."
    )
    segment_pause_s: float | None = Field(
        None, ge=0.0, le=5.0, description="Silence between voice turns; absent: turns join with the cross-fade."
    )
    speaker_labels: bool | None = Field(
        None,
        description="SRT: prefix a cue with its speaker's name when the speaker changes (default: on for "
        "multi-voice jobs).",
    )
    speaker_colors: dict[VoiceName, AssColor] | None = Field(
        None, max_length=50, description="ASS: '#RRGGBB' text colour per speaker (others get distinct defaults)."
    )
    voice: VoiceName | None = Field(None, description="A stored voice (voices/<name>.*).")
    ref_audio: str | None = Field(None, min_length=1, description="Reference audio: http(s) URL or base64.")
    ref_text: ReferenceText | None = Field(None, description="What the reference says; transcribed if absent.")
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
    pronunciations: Pronunciations | None = Field(
        None, description="{typed word: respelling}: how to say a word; captions keep the typed word."
    )
    lexicon: VoiceName | None = Field(
        None, description="A stored lexicon for this job (instead of the voice's); pronunciations win over it."
    )
    language: LanguageCode | None = Field(
        None, description="What the text is in (e.g. 'en'), for word timing; the voice's preset when absent."
    )
    output_format: AudioFormat = "wav"
    sample_rate: SampleRate = F5_SAMPLE_RATE
    return_audio: Literal["url", "base64", "both"] | None = Field(None, description="url on S3, base64 on local.")
    return_word_timings: bool = Field(False, description="Time every word of the output and write timing files.")
    stream: bool = Field(False, description="Stream each chunk's audio as it is made (STREAM_HANDLER workers).")
    verify: Literal["off", "check", "retake"] | None = Field(
        None,
        description="Check each chunk against its text (check), and synthesise a failing one again (retake); "
        "default: retake when a recogniser is loaded, else off.",
    )
    max_retakes: int = Field(2, ge=0, le=5, description="verify retake: takes after the first, per chunk (0: none).")

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
        if self.segments is None and multi_voice and (turns := len(parse_tagged_text(self.text))) > MAX_TURNS:
            raise ValueError(f"text: {turns} voice turns, over the {MAX_TURNS}-turn limit (the same as 'segments')")
        return self

    @model_validator(mode="after")
    def _pause_tags_are_well_formed(self) -> TtsRequest:
        """Refused at once, naming the tag: a pause tag is never read aloud or guessed at."""
        texts = [("text", self.text)] if self.text is not None else []
        texts += [(f"segments.{index}.text", segment.text) for index, segment in enumerate(self.segments or ())]
        for field, text in texts:
            try:
                split_pauses(text, field)
            except InvalidInput as exc:
                raise ValueError(exc.message) from None
        if self.fix_duration is not None and any(has_pause_tags(text) for _, text in texts):
            raise ValueError("fix_duration: cannot be combined with pause tags (a pause is its own length)")
        return self

    @model_validator(mode="after")
    def _timing_options_need_timings(self) -> TtsRequest:
        """Timing options without timings would be silently ignored; say so instead of guessing.

        Refused rather than implied: timing costs time, and a typo should not buy it.
        """
        given = [name for name in TimingFields.model_fields if name in self.model_fields_set]
        if given and not self.return_word_timings:
            verb, pronoun = ("applies", "it") if len(given) == 1 else ("apply", "them")
            raise ValueError(
                f"{given[0]}: {', '.join(given)} {verb} only to word timings; set "
                f"return_word_timings: true, or leave {pronoun} out"
            )
        return self

    @property
    def is_multi_voice(self) -> bool:
        return self.segments is not None or is_dialogue(self.text)

    @property
    def total_text(self) -> str:
        """Every word the job speaks (tags included), for the length limit."""
        return self.text if self.text is not None else " ".join(segment.text for segment in self.segments or ())


VOICE_ACTIONS = ("list", "upload", "delete", "alias", "presets", "lexicons", "upload_lexicon", "delete_lexicon")
# The fields each action takes besides 'name', 'overwrite' and 'key' (checked below).
_ACTION_FIELDS = {
    "audio": ("upload",),
    "text": ("upload",),
    "presets": ("upload", "alias", "presets"),
    "alias_of": ("alias",),
    "entries": ("upload_lexicon",),
}


class VoicesRequest(Request):
    endpoint: Literal["voices"]
    action: Literal[VOICE_ACTIONS]  # type: ignore[valid-type]
    name: VoiceName | None = Field(None, description="Voice (or lexicon) name for every action but the lists.")
    key: str | None = Field(
        None,
        min_length=8,
        max_length=1024,
        description="delete: one object under voices/ by its key, as list's 'skipped' names it.",
    )
    audio: str | None = Field(None, min_length=1, description="upload: http(s) URL or base64 audio.")
    text: ReferenceText | None = Field(None, description="upload: the reference text.")
    presets: VoicePresets | None = Field(None, description="upload, alias, presets: the voice's defaults.")
    alias_of: VoiceName | None = Field(None, description="alias: the stored voice whose audio the new name uses.")
    entries: Pronunciations | None = Field(None, description="upload_lexicon: {typed word: respelling}.")
    overwrite: bool = False

    @model_validator(mode="after")
    def _fields_of_other_actions(self) -> VoicesRequest:
        for name, actions in _ACTION_FIELDS.items():
            if getattr(self, name) is not None and self.action not in actions:
                raise ValueError(f"{name}: applies only to action {' or '.join(map(repr, actions))}")
        return self

    @model_validator(mode="after")
    def _library_fields(self) -> VoicesRequest:
        needs = {"alias": ("name", "alias_of"), "presets": ("name", "presets"), "upload_lexicon": ("name", "entries")}
        needs["delete_lexicon"] = ("name",)
        for name in needs.get(self.action, ()):
            if getattr(self, name) is None:
                raise ValueError(f"{name}: required for action '{self.action}'")
        return self

    @model_validator(mode="after")
    def _fields_for_action(self) -> VoicesRequest:
        if self.action == "delete" and self.key is not None:
            if self.name is not None:
                raise ValueError("key: give either name or key for action 'delete', not both")
            return self
        if self.action in ("upload", "delete") and self.name is None:
            raise ValueError(f"name: required for action '{self.action}'")
        if self.action == "upload" and self.audio is None:
            raise ValueError("audio: required for action 'upload'")
        return self
