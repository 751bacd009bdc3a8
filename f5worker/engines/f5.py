"""The F5-TTS engine: one model and vocoder, loaded once, shared by every job.

Built on f5-tts's own loaders (``load_model``, ``load_vocoder``) and its per-text synthesis step
(``infer_batch_process``), called differently from f5-tts's ``infer_process`` in three ways:

- one chunk per call, in order, each after seeding torch from the job's seed and the chunk's index.
  f5-tts runs several chunks in a ThreadPoolExecutor where they race for the global RNG, so its
  multi-chunk output is not reproducible; the chunks are cross-faded here, as f5-tts does it.
- the reference is an in-memory tensor prepared by :mod:`f5worker.media.reference`, not a file
  through ``preprocess_ref_audio_text`` (which writes temp files it never deletes).
- ``ref_text`` must be given: f5-tts would otherwise download Whisper to transcribe the reference.

f5-tts itself puts the model in float16 on CUDA devices of compute capability 7 or higher
(``load_checkpoint``); the vocoder stays float32. Identical seeds give identical audio on the same
hardware and software stack, not across GPUs or between GPU and CPU.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE
from .model_files import public_name

log = logging.getLogger(__name__)

# Fixed by f5-tts (utils_infer.py): the vocoder and the mel features are built for these.
HOP_LENGTH = 256
VOCODER = "vocos"

_SEED_MASK = (1 << 64) - 1

# on_piece(samples, span of the chunk just joined, final): see F5Engine.synthesize_with_spans.
PieceListener = Callable[[np.ndarray, "ChunkSpan", bool], None]


def flash_attn_version() -> str | None:
    """The installed flash-attn version (used when a model config asks for attn_backend flash_attn)."""
    for name in ("flash-attn", "flash_attn"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(name)
    return None


def package_config(model_name: str) -> str:
    """The yaml that ships inside f5-tts for a model family, e.g. configs/F5TTS_v1_Base.yaml."""
    return str(files("f5_tts").joinpath(f"configs/{model_name}.yaml"))


def chunk_seed(seed: int, index: int) -> int:
    """The torch seed for one chunk: the job's seed for the first, a hash of (seed, index) after.

    The first chunk uses ``seed`` itself, so single-chunk text sounds exactly as f5-tts's
    ``F5TTS.infer(seed=seed)`` would; later chunks get unrelated noise rather than ``seed + 1``,
    which would repeat the next job seed's first chunk.
    """
    seed &= _SEED_MASK
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0])


def f5_ref_text(ref_text: str) -> str:
    """Reference text ending in '. ' (or '。'), as f5-tts's preprocess_ref_audio_text leaves it."""
    text = ref_text.strip()
    if text.endswith("。"):
        return text
    return text + (" " if text.endswith(".") else ". ")


def chunk_durations(
    fix_duration: float | None, ref_samples: int, chunks: list[str], cross_fade_duration: float
) -> list[float | None]:
    """Each chunk's total (reference + speech) seconds when the caller fixed the whole duration.

    The same split as f5-tts's infer_batch_process: the generated time is shared by UTF-8 length,
    plus the cross-fades that overlap, so the joined audio comes out at ``fix_duration`` minus the
    reference. Without ``fix_duration`` f5-tts estimates each chunk from the reference's pace.
    """
    if fix_duration is None:
        return [None] * len(chunks)
    if len(chunks) == 1:
        return [fix_duration]
    ref_seconds = ref_samples // HOP_LENGTH * HOP_LENGTH / F5_SAMPLE_RATE
    weights = [len(chunk.encode("utf-8")) for chunk in chunks]
    allocatable = fix_duration - ref_seconds + cross_fade_duration * (len(chunks) - 1)
    return [ref_seconds + allocatable * weight / sum(weights) for weight in weights]


def cross_fade_join(waves: list[np.ndarray], fade_samples: int) -> np.ndarray:
    """Concatenate ``waves``, overlapping neighbours by ``fade_samples`` with linear fades."""
    joiner = CrossFadeJoiner(fade_samples)
    pieces = [joiner.push(wave, "") for wave in waves]
    pieces.append(joiner.finish())
    return np.concatenate(pieces).astype(np.float32, copy=False)


@dataclass(frozen=True)
class ChunkSpan:
    """Where one chunk lies in the joined audio, in samples.

    ``start``/``end`` include the cross-fades shared with the neighbours; ``fade_in``/``fade_out``
    are those overlaps, so ``start + fade_in .. end - fade_out`` is heard from this chunk alone.
    """

    index: int
    text: str
    start: int
    end: int
    fade_in: int
    fade_out: int = 0


class CrossFadeJoiner:
    """Joins chunk waves one at a time with linear cross-fades, as :func:`cross_fade_join` does.

    ``push`` returns only samples that no later chunk can change (the last ``fade_samples`` wait for
    the next chunk's fade-in), so the pieces streamed as they come concatenate to exactly the
    samples of the joined whole. ``spans`` records each chunk's place in the output.
    """

    def __init__(self, fade_samples: int):
        self.fade_samples = max(int(fade_samples), 0)
        self.spans: list[ChunkSpan] = []
        self._pending = np.zeros(0, dtype=np.float32)
        self._length = 0  # samples joined so far, released or pending

    def push(self, wave: np.ndarray, text: str) -> np.ndarray:
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        overlap = min(self.fade_samples, self._length, wave.size) if self.spans else 0
        if overlap > 0:
            fade_in = np.linspace(0.0, 1.0, overlap, dtype=np.float32)
            mixed = self._pending[-overlap:] * (1.0 - fade_in) + wave[:overlap] * fade_in
            joined = np.concatenate([self._pending[:-overlap], mixed, wave[overlap:]])
        else:
            joined = np.concatenate([self._pending, wave])
        start = self._length - overlap
        if self.spans:
            previous = self.spans[-1]
            self.spans[-1] = ChunkSpan(
                previous.index, previous.text, previous.start, previous.end, previous.fade_in, overlap
            )
        self._length = start + wave.size
        self.spans.append(ChunkSpan(len(self.spans), text, start, self._length, overlap))
        keep = min(self.fade_samples, self._length)
        released, self._pending = joined[: joined.size - keep], joined[joined.size - keep :]
        return released

    def finish(self) -> np.ndarray:
        """The held-back tail: the end of the last chunk."""
        tail, self._pending = self._pending, np.zeros(0, dtype=np.float32)
        return tail


@contextlib.contextmanager
def _stdout_to_log() -> Iterator[None]:
    """f5-tts's loaders print unconditionally; keep that out of the job output, in the debug log."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            yield
    finally:
        for line in captured.getvalue().splitlines():
            if line.strip():
                log.debug("f5-tts: %s", line.strip())


class F5Engine:
    """A warm F5-TTS model and vocoder; ``synthesize`` calls are serialised by a lock."""

    def __init__(self, *, model, vocoder, model_name: str, ckpt_file: str, device: str, mel_spec_type: str = VOCODER):
        self.model = model
        self.vocoder = vocoder
        self.model_name = model_name
        self.ckpt_file = ckpt_file
        self.device = device
        self.mel_spec_type = mel_spec_type
        self.flash_attn = flash_attn_version()
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        *,
        ckpt_file: str,
        vocab_file: str,
        vocoder_path: str,
        model_config: str | None,
        model_name: str = "F5TTS_v1_Base",
        device: str = "cpu",
    ) -> F5Engine:
        """Load checkpoint, vocabulary and local Vocos with f5-tts's loaders; never touches a hub.

        ``model_config`` is a yaml in f5-tts's configs layout (``model.backbone``, ``model.arch``,
        ``model.mel_spec``); None means the one shipped in the package for ``model_name``.
        """
        for label, value in (("ckpt_file", ckpt_file), ("vocab_file", vocab_file), ("vocoder_path", vocoder_path)):
            if not value:  # f5-tts would fetch the default model or vocoder from the hub
                raise ValueError(f"{label} is required: the worker never downloads models")
        from f5_tts.infer.utils_infer import load_model, load_vocoder
        from hydra.utils import get_class
        from omegaconf import OmegaConf

        config = OmegaConf.load(model_config or package_config(model_name)).model
        mel_spec_type = config.mel_spec.mel_spec_type
        if mel_spec_type != VOCODER:
            raise ValueError(f"model config asks for the {mel_spec_type!r} vocoder; only {VOCODER!r} is supported")
        model_cls = get_class(f"f5_tts.model.{config.backbone}")
        # Resolve only the architecture: the package yaml's hydra section has ${now:} interpolations.
        arch = OmegaConf.to_container(config.arch, resolve=True)
        with _stdout_to_log():
            model = load_model(
                model_cls,
                arch,
                ckpt_file,
                mel_spec_type=mel_spec_type,
                vocab_file=vocab_file,
                ode_method="euler",
                use_ema=True,
                device=device,
            )
            vocoder = load_vocoder(vocoder_name=VOCODER, is_local=True, local_path=vocoder_path, device=device)
        model.eval()
        engine = cls(
            model=model,
            vocoder=vocoder,
            model_name=model_name,
            ckpt_file=ckpt_file,
            device=device,
            mel_spec_type=mel_spec_type,
        )
        log.info("F5-TTS loaded: %s", engine.describe())
        return engine

    def describe(self) -> dict:
        dtype = next(self.model.parameters()).dtype
        return {
            "model": public_name(self.model_name),
            "ckpt": public_name(self.ckpt_file),
            "device": self.device,
            "dtype": str(dtype).removeprefix("torch."),
            "flash_attn": self.flash_attn,
        }

    def synthesize(self, **kwargs) -> np.ndarray:
        """Speech for ``chunks`` in the reference's voice: float32 mono at 24 kHz, reproducible by ``seed``.

        Arguments as :meth:`iter_chunks`; ``cross_fade_duration`` seconds join the chunks.
        """
        speech, _spans = self.synthesize_with_spans(**kwargs)
        return speech

    def synthesize_with_spans(
        self, *, cross_fade_duration: float, on_piece: PieceListener | None = None, **kwargs
    ) -> tuple[np.ndarray, list[ChunkSpan]]:
        """The joined speech and where each chunk lies in it (for timing each chunk's known text).

        ``on_piece(samples, span, final)`` sees each settled piece as soon as it exists (streaming):
        the pieces concatenate to the returned speech. An exception it raises (a cancelled job)
        stops synthesis before the next chunk and releases the model.
        """
        joiner = CrossFadeJoiner(round(cross_fade_duration * F5_SAMPLE_RATE))
        pieces = []
        with contextlib.closing(self.iter_chunks(cross_fade_duration=cross_fade_duration, **kwargs)) as chunks:
            for text, wave in chunks:
                pieces.append(joiner.push(wave, text))
                if on_piece is not None:
                    on_piece(pieces[-1], joiner.spans[-1], False)
        pieces.append(joiner.finish())
        if on_piece is not None:
            on_piece(pieces[-1], joiner.spans[-1], True)
        return np.concatenate(pieces).astype(np.float32, copy=False), joiner.spans

    def iter_chunks(
        self,
        *,
        ref_audio: np.ndarray,
        ref_text: str,
        chunks: list[str],
        nfe_step: int,
        cfg_strength: float,
        sway_sampling_coef: float,
        target_rms: float,
        cross_fade_duration: float,
        speed: float,
        seed: int,
        fix_duration: float | None,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[str, np.ndarray]]:
        """``(chunk text, wave)`` for each chunk in order, each as soon as it is synthesised (not joined).

        ``ref_audio`` is prepared 24 kHz float32 mono; ``fix_duration`` is the total seconds of
        reference plus generated audio, as in f5-tts. ``on_chunk(done, total)`` follows each chunk.
        The model lock is held until the generator is exhausted or closed.
        """
        if not ref_text.strip():
            raise ValueError("ref_text is empty: transcribe the reference first (f5-tts would download Whisper)")
        if not chunks or any(not chunk.strip() for chunk in chunks):
            raise ValueError("chunks must be a non-empty list of non-empty texts")
        reference = np.ascontiguousarray(np.asarray(ref_audio, dtype=np.float32).reshape(-1))
        if reference.size < HOP_LENGTH or not np.any(reference):
            raise ValueError("ref_audio is empty or silent")
        text = f5_ref_text(ref_text)
        durations = chunk_durations(fix_duration, reference.size, chunks, cross_fade_duration)
        settings = {
            "nfe_step": nfe_step,
            "cfg_strength": cfg_strength,
            "sway_sampling_coef": sway_sampling_coef,
            "target_rms": target_rms,
            "speed": speed,
        }
        with self._lock:
            for index, (chunk, duration) in enumerate(zip(chunks, durations, strict=True)):
                wave = self._chunk(reference, text, chunk, duration, chunk_seed(seed, index), settings)
                if on_chunk is not None:
                    on_chunk(index + 1, len(chunks))
                yield chunk, wave

    def _chunk(
        self, reference: np.ndarray, ref_text: str, text: str, duration: float | None, seed: int, settings: dict
    ) -> np.ndarray:
        """One chunk through f5-tts's own synthesis step, on the calling thread.

        ``infer_batch_process`` with ``streaming=True`` runs the chunk inline instead of in its
        ThreadPoolExecutor; one piece of ``sys.maxsize`` samples is the whole chunk at once.
        """
        import torch
        from f5_tts.infer.utils_infer import infer_batch_process

        audio = torch.from_numpy(reference).unsqueeze(0)
        devices = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):  # the seed must not leak into other users of torch
            torch.manual_seed(seed)
            pieces = [
                piece
                for piece, _rate in infer_batch_process(
                    (audio, F5_SAMPLE_RATE),
                    ref_text,
                    [text],
                    self.model,
                    self.vocoder,
                    mel_spec_type=self.mel_spec_type,
                    progress=None,
                    cross_fade_duration=0.0,
                    fix_duration=duration,
                    device=self.device,
                    streaming=True,
                    chunk_size=sys.maxsize,
                    **settings,
                )
            ]
        return np.concatenate(pieces).astype(np.float32, copy=False)
