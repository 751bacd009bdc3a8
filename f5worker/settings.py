"""One settings object, read from the environment once at start-up (CONFIG.md lists every field)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .errors import ConfigError

S3_REQUIRED = ("AWS_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
MAX_PRESIGN_EXPIRY_S = 7 * 24 * 3600  # S3 SigV4 (and so B2) refuses longer-lived URLs
# WhisperX's English alignment model (the Hugging Face twin of torchaudio's WAV2VEC2_ASR_BASE_960H), fetched
# once into the bucket's model cache; loaded only where it is available without a hub at request time.
DEFAULT_ALIGN_MODEL = "en=facebook/wav2vec2-base-960h"
B2_ENDPOINT = re.compile(r"^https?://s3\.([a-z0-9-]+)\.backblazeb2\.com/?$")
TimingEngineName = Literal["whisperx", "google"]
TIMING_ENGINES: tuple[str, ...] = get_args(TimingEngineName)  # also the order ``engine: auto`` tries them in


class Settings(BaseSettings):
    """Field ``foo_bar`` is read from the environment variable ``FOO_BAR``."""

    model_config = SettingsConfigDict(case_sensitive=False, env_ignore_empty=True, extra="ignore")

    storage_dir: Path = Field(Path("storage"), description="Local storage root when S3 is not configured.")
    aws_s3_bucket: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_endpoint_url: str | None = None
    aws_default_region: str | None = None
    presign_expiry_s: int = Field(86400, ge=1, le=MAX_PRESIGN_EXPIRY_S)
    s3_connect_timeout_s: float = Field(5.0, gt=0)
    s3_read_timeout_s: float = Field(30.0, gt=0)
    s3_max_attempts: int = Field(3, ge=1, le=10)
    max_inline_bytes: int = Field(7 * 1024 * 1024, ge=1024)
    max_concurrency: int = Field(4, ge=1, le=64)
    shutdown_grace_s: float = Field(60.0, gt=0, description="After SIGTERM, how long running jobs may still run.")
    max_audio_s: float = Field(1800.0, gt=0, description="Longest audio accepted for decoding.")
    max_input_bytes: int = Field(100 * 1024 * 1024, ge=1024, description="Largest audio input (URL, base64, key).")
    url_timeout_s: float = Field(30.0, gt=0, description="Whole-download time limit for URL inputs.")
    url_max_redirects: int = Field(3, ge=0, le=10)
    allow_private_urls: bool = Field(False, description="Let URL inputs reach private/loopback addresses.")
    log_level: str = "INFO"
    stream_handler: bool = Field(False, description="Serve with RunPod's generator handler: tts can stream chunks.")
    max_text_chars: int = Field(5000, ge=1, description="Longest text accepted by tts and stt.")
    voice_cache_dir: Path = Field(Path("/tmp/f5worker-voices"), description="Local cache of stored voices.")
    voice_lock_timeout_s: float = Field(120.0, gt=0, description="Longest wait for another job's voice download.")

    # F5-TTS
    tts_enabled: bool = Field(True, description="Warm-load F5-TTS (false for a transcription-only worker).")
    f5_model: str = Field("F5TTS_v1_Base", description="F5-TTS model name (architecture yaml in f5-tts).")
    f5_ckpt_file: Path | None = Field(None, description="Checkpoint (.safetensors or .pt); cache or hub when unset.")
    f5_vocab_file: Path | None = Field(None, description="vocab.txt; the model cache's or f5-tts's own when unset.")
    f5_vocoder_path: Path | None = Field(None, description="Local Vocos directory (config.yaml + pytorch_model.bin).")
    f5_model_config: Path | None = Field(None, description="Model yaml overriding the packaged one (tiny models).")
    model_cache_dir: Path = Field(Path("/tmp/f5worker-models"), description="Where model_cache_init.py restores.")
    # media/chunking.py's CHUNK_TARGET_S; at most 80 s, under the model's own limit of about 87 s.
    chunk_target_s: float = Field(
        22.0, ge=5.0, le=80.0, description="Seconds of reference plus speech a tts chunk aims for."
    )

    # Timing engines (speech recognition and word times)
    timing_engines: Annotated[list[TimingEngineName], NoDecode] = Field(
        ["whisperx", "google"], description="Engines to warm-load, comma-separated; parsed here into a list."
    )
    forced_aligner: Literal["pocketsphinx", "off"] = Field(
        "pocketsphinx", description="Known-text word timing for English (tts, stt with text); off: recogniser only."
    )
    whisper_model: str = Field("large-v3", description="faster-whisper model name or CTranslate2 directory.")
    whisper_compute_type: str | None = Field(None, description="CTranslate2 compute type; auto when unset.")
    whisper_device: str = Field("auto", description="auto, cpu or cuda.")
    whisper_beam_size: int = Field(5, ge=1, le=20)
    align_model: str | None = Field(
        DEFAULT_ALIGN_MODEL, description="wav2vec2 alignment models: 'DIR_OR_NAME' or 'en=...,de=...'; 'off': none."
    )
    nltk_data: str | None = Field(None, description="Where whisperx's sentence splitter data (punkt_tab) lives.")
    google_credentials_json: SecretStr | None = None
    google_application_credentials: Path | None = None
    google_speech_endpoint: str | None = Field(None, description="Tests only: host:port of a plaintext gRPC server.")
    google_timeout_s: float = Field(120.0, gt=0)

    @field_validator("timing_engines", mode="before")
    @classmethod
    def _engine_names(cls, value: object) -> object:
        """``whisperx, google`` -> ["whisperx", "google"] (blanks and repeats dropped); names are checked after."""
        if isinstance(value, str):
            value = [name.strip() for name in value.split(",")]
        if isinstance(value, list | tuple):
            return list(dict.fromkeys(name for name in value if name))
        return value

    @model_validator(mode="after")
    def _storage_is_whole(self) -> Settings:
        present = [self.aws_s3_bucket, self.aws_access_key_id, self.aws_secret_access_key]
        if any(present) and not all(present):
            missing = [name for name, value in zip(S3_REQUIRED, present, strict=True) if not value]
            raise ValueError(
                "S3 storage is half-configured: set all of "
                + ", ".join(S3_REQUIRED)
                + " (missing: "
                + ", ".join(missing)
                + ") or none of them to use local storage"
            )
        return self

    @property
    def align_models(self) -> dict[str, str]:
        """``ALIGN_MODEL`` as {language: model}; a bare value means English."""
        models: dict[str, str] = {}
        if (self.align_model or "").strip().lower() in ("off", "none"):
            return models
        for item in filter(None, (part.strip() for part in (self.align_model or "").split(","))):
            language, sep, model = item.partition("=")
            if sep and language.strip().isalpha() and len(language.strip()) <= 3:
                models[language.strip().lower()] = model.strip()
            else:
                models["en"] = item
        return models

    @property
    def storage_backend(self) -> str:
        return "s3" if self.aws_s3_bucket else "local"

    @property
    def s3_region(self) -> str:
        """The explicit region SigV4 needs; B2 endpoints carry theirs in the host name."""
        if self.aws_default_region:
            return self.aws_default_region
        match = B2_ENDPOINT.match(self.aws_endpoint_url or "")
        return match.group(1) if match else "us-east-1"


def load_settings(**overrides) -> Settings:
    """Build settings, turning validation failures into a :class:`ConfigError` without echoing values."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part).upper() for part in err["loc"] if not isinstance(part, int))  # no list index
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {message}" if field else message)
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
