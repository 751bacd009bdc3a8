"""Google Cloud Speech-to-Text (v1) fallback timing engine, with word time offsets.

Credentials come from ``GOOGLE_CREDENTIALS_JSON`` (the JSON text, parsed in memory: never written
to disk or logged) or a ``GOOGLE_APPLICATION_CREDENTIALS`` path. ``GOOGLE_SPEECH_ENDPOINT`` points
the client at a plaintext gRPC server and exists for tests only.
"""

from __future__ import annotations

import json
import logging
import threading

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..settings import Settings
from ..timing.time_offsets import to_seconds
from ..timing.transcript import EngineFailure, Segment, Transcript
from ..words import Word

log = logging.getLogger(__name__)
SYNC_LIMIT_S = 60.0  # Recognize accepts at most about a minute; longer audio goes long-running
INLINE_LIMIT_BYTES = 10 * 1024 * 1024  # inline audio limit of the API
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


def is_configured(settings: Settings) -> bool:
    """Without credentials the engine is simply absent, which is not an error worth a traceback."""
    return bool(
        settings.google_credentials_json or settings.google_application_credentials or settings.google_speech_endpoint
    )


def load_credentials(settings: Settings):
    from google.oauth2 import service_account

    if settings.google_credentials_json:
        try:
            info = json.loads(settings.google_credentials_json.get_secret_value())
            if not isinstance(info, dict):
                raise TypeError("not a JSON object")
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, KeyError, TypeError):
            raise ValueError("GOOGLE_CREDENTIALS_JSON is not valid service-account JSON") from None
    if settings.google_application_credentials:
        return service_account.Credentials.from_service_account_file(
            str(settings.google_application_credentials), scopes=SCOPES
        )
    raise ValueError("no credentials (set GOOGLE_CREDENTIALS_JSON or GOOGLE_APPLICATION_CREDENTIALS)")


def make_client(settings: Settings):
    from google.cloud import speech_v1

    if settings.google_speech_endpoint:
        import grpc
        from google.cloud.speech_v1.services.speech.transports import SpeechGrpcTransport

        channel = grpc.insecure_channel(settings.google_speech_endpoint)
        return speech_v1.SpeechClient(transport=SpeechGrpcTransport(channel=channel))
    return speech_v1.SpeechClient(credentials=load_credentials(settings))


def google_language(language: str | None) -> str:
    """Whisper speaks ISO 639-1 ('en'); Google wants BCP-47 with a region for the best models."""
    if not language:
        return "en-US"
    return {"en": "en-US", "de": "de-DE", "fr": "fr-FR", "es": "es-ES", "pt": "pt-BR"}.get(language, language)


class GoogleSpeechEngine:
    name = "google"

    def __init__(self, client, timeout_s: float):
        self.client = client
        self.timeout_s = timeout_s
        self.lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings) -> GoogleSpeechEngine:
        return cls(make_client(settings), settings.google_timeout_s)

    def describe(self) -> dict:
        return {"api": "speech_v1"}

    def transcribe(self, audio: np.ndarray, language: str | None) -> Transcript:
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions
        from google.cloud import speech_v1

        content = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        if len(content) > INLINE_LIMIT_BYTES:
            raise EngineFailure("audio is too long for inline recognition (about 5 minutes at most)")
        config = speech_v1.RecognitionConfig(
            encoding=speech_v1.RecognitionConfig.AudioEncoding.LINEAR16,
            sample_rate_hertz=SPEECH_SAMPLE_RATE,
            language_code=google_language(language),
            enable_word_time_offsets=True,
            enable_automatic_punctuation=True,
        )
        request_audio = speech_v1.RecognitionAudio(content=content)
        rejected = (api_exceptions.Unauthenticated, api_exceptions.PermissionDenied, auth_exceptions.GoogleAuthError)
        try:
            with self.lock:
                if len(audio) / SPEECH_SAMPLE_RATE <= SYNC_LIMIT_S:
                    response = self.client.recognize(
                        config=config, audio=request_audio, retry=None, timeout=self.timeout_s
                    )
                else:
                    operation = self.client.long_running_recognize(
                        config=config, audio=request_audio, retry=None, timeout=self.timeout_s
                    )
                    response = operation.result(timeout=self.timeout_s)
        except rejected as exc:
            raise EngineFailure(f"credentials were rejected ({type(exc).__name__})") from exc
        except api_exceptions.GoogleAPICallError as exc:
            raise EngineFailure(f"recognition failed ({type(exc).__name__})") from exc
        except TimeoutError as exc:
            raise EngineFailure("recognition timed out") from exc
        segments = [segment for result in response.results if (segment := _segment(result))]
        text = " ".join(segment.text for segment in segments)
        return Transcript(
            text=text,
            language=language or "en",
            segments=segments,
            engine=self.name,
            method="google-word-offsets",
            model="speech_v1",
        )


def _segment(result) -> Segment | None:
    if not result.alternatives:
        return None
    best = result.alternatives[0]
    confidence = float(best.confidence) or None
    words = [
        Word(word=info.word, start=to_seconds(info.start_time), end=to_seconds(info.end_time), confidence=confidence)
        for info in best.words
    ]
    if not words:
        return None
    return Segment(start=words[0].start, end=words[-1].end, text=best.transcript.strip(), words=words)
