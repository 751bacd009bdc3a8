"""The F5-TTS engine: one model and vocoder, loaded once, shared by every job.

Built on f5-tts's own loaders (``load_model``, ``load_vocoder``) and its per-text synthesis step
(``infer_batch_process``), called differently from f5-tts's ``infer_process`` in three ways:

- one chunk per call (:meth:`F5Engine.synthesize_chunk`), each after seeding torch with the seed the
  job's plan gives the chunk (:func:`chunk_seed`). f5-tts runs several chunks in a ThreadPoolExecutor
  where they race for the global RNG, so its multi-chunk output is not reproducible; the chunks are
  cross-faded by :class:`CrossFadeJoiner` as f5-tts does it (``endpoints/tts_speech.py`` runs the loop).
- the reference is an in-memory tensor prepared by :mod:`f5worker.media.reference`, not a file
  through ``preprocess_ref_audio_text`` (which writes temp files it never deletes).
- ``ref_text`` must be given: f5-tts would otherwise download Whisper to transcribe the reference.

f5-tts itself puts the model in float16 on CUDA devices of compute capability 7 or higher
(``load_checkpoint``); the vocoder stays float32. Identical seeds give identical audio on the same
hardware and software stack, not across GPUs or between GPU and CPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from ..audio_rates import F5_HOP_LENGTH, F5_SAMPLE_RATE
from .model_files import public_name

log = logging.getLogger(__name__)

# Fixed by f5-tts (utils_infer.py): the vocoder and the mel features are built for it.
VOCODER = "vocos"

_SEED_MASK = (1 << 64) - 1

# on_piece(samples, span of the piece just joined, final): sees each settled piece of the joined audio
# as soon as it exists (streaming); the pieces concatenate to the whole. An exception it raises (a
# cancelled job) stops synthesis before the next chunk.
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


@dataclass(frozen=True)
class SynthesisParams:
    """f5-tts's per-chunk settings (its ``infer_batch_process`` keywords), built once from a request."""

    nfe_step: int = 32
    cfg_strength: float = 2.0
    sway_sampling_coef: float = -1.0
    target_rms: float = 0.1
    speed: float = 1.0


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
    """Joins chunk waves one at a time with linear cross-fades (f5-tts's own join, made incremental).

    ``push`` returns only samples that no later chunk can change (the last ``fade_samples`` wait for
    the next chunk's fade-in), so the pieces streamed as they come concatenate to exactly the
    samples of the joined whole. ``spans`` records each chunk's place in the output.
    """

    def __init__(self, fade_samples: int):
        self.fade_samples = max(int(fade_samples), 0)
        self.spans: list[ChunkSpan] = []
        self._pending = np.zeros(0, dtype=np.float32)
        self._length = 0  # samples joined so far, released or pending

    def push(self, wave: np.ndarray, text: str, fade: bool = True) -> np.ndarray:
        """Join ``wave`` after what came before; ``fade=False`` butts it on with no cross-fade (a pause
        tag's silence, and the speech after it, must keep their exact lengths)."""
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        overlap = min(self.fade_samples, self._length, wave.size) if self.spans and fade else 0
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
    """A warm F5-TTS model and vocoder; ``synthesize_chunk`` calls are serialised by a lock."""

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

    def synthesize_chunk(
        self,
        ref_audio: np.ndarray,
        ref_text: str,
        text: str,
        params: SynthesisParams,
        *,
        seed: int,
        duration: float | None = None,
    ) -> np.ndarray:
        """One chunk of speech in the reference's voice: float32 mono at 24 kHz, reproducible by ``seed``.

        ``ref_audio`` is prepared 24 kHz float32 mono; ``duration`` is the total seconds of reference
        plus generated audio (f5-tts's ``fix_duration``), None to size the chunk from the reference's
        pace. Calls are serialised by the model lock (the seed must not race other jobs for torch's RNG).
        """
        if not ref_text.strip():
            raise ValueError("ref_text is empty: transcribe the reference first (f5-tts would download Whisper)")
        if not text.strip():
            raise ValueError("text is empty: a chunk must say something")
        reference = np.ascontiguousarray(np.asarray(ref_audio, dtype=np.float32).reshape(-1))
        if reference.size < F5_HOP_LENGTH or not np.any(reference):
            raise ValueError("ref_audio is empty or silent")
        with self._lock:
            return self._chunk(reference, f5_ref_text(ref_text), text, duration, seed, params)

    def _chunk(
        self,
        reference: np.ndarray,
        ref_text: str,
        text: str,
        duration: float | None,
        seed: int,
        params: SynthesisParams,
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
                    **dataclasses.asdict(params),
                )
            ]
        return np.concatenate(pieces).astype(np.float32, copy=False)
