"""The primary timing engine: faster-whisper transcription with word times, whisperx alignment on top.

faster-whisper is what whisperx transcribes with; calling it directly gives word times without
alignment and keeps whisperx's 30-second import out of start-up unless ``ALIGN_MODEL`` asks for it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..settings import Settings
from ..timing.transcript import EngineFailure, Segment, TimedWord, Transcript
from ..words import Word
from .alignment import Aligner
from .model_files import public_name, resolve_align_models

log = logging.getLogger(__name__)
HEAR_WINDOW_S = 30.0  # Whisper's window: longer audio is heard the usual way
HEAR_PAD_S = 1.0  # silence after a short clip, so the decoder sees where speech ends
HEAR_TOKENS_PER_S = 8  # above fast speech (about 4-6 tokens a second): a loop reaches it


class WhisperEngine:
    name = "whisperx"

    def __init__(
        self, model, model_name: str, beam_size: int, aligner: Aligner | None, alignment_errors: dict | None = None
    ):
        self.model = model
        self.model_name = model_name
        self.beam_size = beam_size
        self.aligner = aligner  # None unless at least one wav2vec2 model loaded
        self.alignment_errors = dict(alignment_errors or {})  # language -> why it has no alignment model
        self.lock = threading.Lock()  # one model, many concurrent jobs

    @classmethod
    def load(cls, settings: Settings, device: str) -> WhisperEngine:
        from faster_whisper import WhisperModel

        run_on = device if settings.whisper_device == "auto" else settings.whisper_device
        compute_type = settings.whisper_compute_type or ("float16" if run_on == "cuda" else "int8")
        source = settings.whisper_model
        cached = settings.model_cache_dir / "whisper" / source  # restored by model_cache_init.py
        if not Path(source).is_dir() and (cached / "model.bin").is_file():
            source = str(cached)
        local = Path(source).is_dir()
        model = WhisperModel(source, device=run_on, compute_type=compute_type, local_files_only=local)
        log.info("whisper model %s on %s (%s)", source, run_on, compute_type)
        aligner, alignment_errors = load_aligner(settings, run_on)
        return cls(model, public_name(settings.whisper_model), settings.whisper_beam_size, aligner, alignment_errors)

    def describe(self) -> dict:
        return {
            "model": self.model_name,
            "alignment": {lang: public_name(name) for lang, name in self.aligner.names.items()}
            if self.aligner
            else None,
            "sentence_splitter": self.aligner.splitter if self.aligner else None,
            "alignment_errors": dict(self.alignment_errors),
        }

    def detect_language(self, audio: np.ndarray) -> str:
        """English-only models (``*.en``) cannot detect: they only ever hear English."""
        if not self.model.model.is_multilingual:
            return "en"
        try:
            with self.lock:
                language, _probability, _all = self.model.detect_language(audio)
        except (RuntimeError, ValueError) as exc:
            raise EngineFailure(f"whisper language detection failed: {exc}") from exc
        return language

    def can_align(self, language: str | None) -> bool:
        return self.aligner is not None and self.aligner.supports(language)

    def align_text(self, audio: np.ndarray, text: str, language: str) -> list[dict]:
        """Force-align a known text to the audio (wav2vec2); words it cannot place come back untimed."""
        duration = len(audio) / SPEECH_SAMPLE_RATE
        with self.lock:
            return self.aligner.align([{"text": text, "start": 0.0, "end": duration}], audio, language)

    def hear(self, audio: np.ndarray, language: str | None) -> list[Word]:
        """What was said, cheaply: greedy decoding with word times, for the script check.

        A short clip is encoded over its own length plus a second of padding instead of Whisper's
        fixed 30-second window (the encoder is most of the cost: 0.05 instead of 0.17 CPU s per
        audio s with tiny.en); without the padding the decoder loops. Longer audio takes the plain
        greedy path.
        """
        duration = len(audio) / SPEECH_SAMPLE_RATE
        try:
            with self.lock:
                if duration + HEAR_PAD_S > HEAR_WINDOW_S:
                    return self._hear_greedy(audio, language)
                return self._hear_short(audio, language)
        except (RuntimeError, ValueError) as exc:
            raise EngineFailure(f"whisper listening failed: {exc}") from exc

    def _hear_greedy(self, audio: np.ndarray, language: str | None) -> list[Word]:
        pieces, _info = self.model.transcribe(
            audio, language=language, word_timestamps=True, beam_size=1, condition_on_previous_text=False
        )
        return [word for piece in pieces for word in _segment(piece).words]

    def _hear_short(self, audio: np.ndarray, language: str | None) -> list[Word]:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_ctranslate2_storage

        model = self.model
        multilingual = model.model.is_multilingual
        if multilingual and language is None:
            language, _probability, _all = model.detect_language(audio)
        tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=language or "en")
        features = model.feature_extractor(audio, padding=0)
        frames = min(features.shape[1] + round(HEAR_PAD_S * 100), 3000)
        frames += frames % 2  # the encoder halves the frame count
        padded = np.zeros((features.shape[0], frames), dtype=np.float32)
        padded[:, : min(frames, features.shape[1])] = features[:, :frames]
        encoded = model.model.encode(get_ctranslate2_storage(padded[None]), to_cpu=False)
        limit = min(int(HEAR_TOKENS_PER_S * frames / 100) + 8, 220)
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = model.model.generate(encoded, [prompt], beam_size=1, max_length=limit, suppress_tokens=[-1])[0]
        tokens = [token for token in result.sequences_ids[0] if token < tokenizer.eot]
        if len(tokens) >= limit - 1 or _loops(tokens):  # the short window made the decoder loop
            log.info("short-window decoding looped; hearing %.1f s with the full window", len(audio) / 16000)
            return self._hear_greedy(audio, language)
        if not tokens:
            return []
        words: list[Word] = []
        for item in model.find_alignment(tokenizer, [tokens], encoded, frames)[0]:
            text = item["word"].strip()
            if not text:
                continue
            start, end, confidence = float(item["start"]), float(item["end"]), round(float(item["probability"]), 4)
            if words and not item["word"][:1].isspace():  # a piece of the word before ("85" + "%")
                last = words[-1]
                words[-1] = Word(
                    word=last.word + text, start=last.start, end=end, confidence=min(last.confidence, confidence)
                )
            else:
                words.append(Word(word=text, start=start, end=end, confidence=confidence))
        return words

    def transcribe(self, audio: np.ndarray, language: str | None, *, realign: bool = True) -> Transcript:
        """Whisper's words and times; re-timed by wav2vec2 (:meth:`realign`) unless ``realign`` is False."""
        try:
            with self.lock:
                pieces, info = self.model.transcribe(
                    audio, language=language, word_timestamps=True, beam_size=self.beam_size
                )
                segments = [_segment(piece) for piece in pieces]  # the generator does the work
        except (RuntimeError, ValueError) as exc:
            raise EngineFailure(f"whisper transcription failed: {exc}") from exc
        text = " ".join(segment.text for segment in segments)
        transcript = Transcript(
            text=text,
            language=info.language,
            segments=segments,
            engine=self.name,
            method="faster-whisper-words",
            model=self.model_name,
            timing="whisper",
        )
        return self.realign(transcript, audio) if realign else transcript

    def realign(self, transcript: Transcript, audio: np.ndarray) -> Transcript:
        """The transcript re-timed by wav2vec2 when a model for its language is loaded, else unchanged."""
        if not transcript.segments or not self.can_align(transcript.language):
            return transcript
        refined = self._refine(transcript.segments, audio, transcript.language)
        if refined is None:
            return transcript
        return replace(transcript, segments=refined, method="wav2vec2-alignment", timing="whisperx")

    def _refine(self, segments: list[Segment], audio: np.ndarray, language: str) -> list[Segment] | None:
        """Re-time each segment's words with wav2vec2 (Whisper's time where it cannot place one).

        None when the aligner's words do not line up with Whisper's: the caller then keeps, and
        reports, Whisper's own times rather than claiming an alignment that did not happen.
        """
        requests = [{"text": s.text, "start": s.start, "end": s.end} for s in segments]
        with self.lock:
            aligned = self.aligner.align(requests, audio, language)
        expected = sum(len(s.words) for s in segments)
        if len(aligned) != expected:
            log.warning("alignment returned %d words for %d; keeping Whisper's times", len(aligned), expected)
            return None
        position = 0
        refined = []
        for segment in segments:
            words = []
            for original in segment.words:
                candidate = aligned[position]
                position += 1
                if "start" in candidate and "end" in candidate:
                    words.append(
                        TimedWord(
                            word=original.word,
                            start=float(candidate["start"]),
                            end=float(candidate["end"]),
                            confidence=original.confidence,
                            timed_by="aligned",
                        )
                    )
                else:  # wav2vec2 could not place it: Whisper's own time
                    words.append(TimedWord(**original.model_dump(), timed_by="matched"))
            refined.append(Segment(segment.start, segment.end, segment.text, words))
        return refined


def _loops(tokens: list[int], size: int = 4) -> bool:
    """Whether some run of ``size`` tokens comes twice: how a looping decoder shows itself."""
    runs = [tuple(tokens[start : start + size]) for start in range(len(tokens) - size + 1)]
    return len(set(runs)) < len(runs)


def load_aligner(settings: Settings, device: str) -> tuple[Aligner | None, dict[str, str]]:
    """The wav2vec2 models ``ALIGN_MODEL`` names that can load (whisperx is imported only then), and
    why each other language has none (``health``). Whisper loads either way."""
    sources, missing = resolve_align_models(settings)
    if not sources:
        if missing:
            log.warning("no alignment model loaded: %s", "; ".join(missing.values()))
        return None, missing
    aligner = Aligner.load(sources, device, settings.nltk_data, names=settings.align_models)
    return (aligner if aligner.models else None), {**missing, **aligner.errors}


def _segment(piece) -> Segment:
    """Whisper's words, joined back where faster-whisper split one written word ("85" + "%", "1" + ",200").

    faster-whisper starts a new word at every punctuation token; a piece without a leading space
    continues the word before it. Joining keeps captions readable and matches whisperx's own
    whitespace split of the segment text, which alignment relies on.
    """
    words: list[Word] = []
    for item in piece.words or []:
        text = item.word.strip()
        if not text:
            continue
        confidence = round(float(item.probability), 4)
        if words and not item.word[:1].isspace():
            last = words[-1]
            words[-1] = Word(
                word=last.word + text,
                start=last.start,
                end=float(item.end),
                confidence=min(last.confidence, confidence),
            )
        else:
            words.append(Word(word=text, start=float(item.start), end=float(item.end), confidence=confidence))
    return Segment(start=float(piece.start), end=float(piece.end), text=piece.text.strip(), words=words)
