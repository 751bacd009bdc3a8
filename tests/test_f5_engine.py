"""The F5-TTS engine on tiny random models: shapes, reproducibility, progress and f5-tts parity.

Importing f5-tts takes most of this file's time (about 40 s on a small CPU); synthesis uses few
flow steps so every call stays well under a second or two.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from f5worker.audio_rates import F5_HOP_LENGTH as HOP_LENGTH
from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.engines.f5 import CrossFadeJoiner, F5Engine, SynthesisParams, chunk_seed, f5_ref_text
from f5worker.media.audio import decode_audio
from f5worker.media.chunking import chunk_durations
from f5worker.media.reference import prepare_reference
from tests.helpers import espeak_wav
from tests.tiny_models import tiny_models  # noqa: F401

REF_TEXT = "Hello there, this is the reference voice."
PARAMS = SynthesisParams(nfe_step=4, cfg_strength=2.0, sway_sampling_coef=-1.0, target_rms=0.1, speed=1.0)
FADE = 0.15
CHUNKS = ["The first chunk of text.", "A second one, a little longer.", "And the third."]


@pytest.fixture(scope="module")
def engine(tiny_models) -> F5Engine:  # noqa: F811
    return F5Engine.load(
        ckpt_file=tiny_models["F5_CKPT_FILE"],
        vocab_file=tiny_models["F5_VOCAB_FILE"],
        vocoder_path=tiny_models["F5_VOCODER_PATH"],
        model_config=tiny_models["F5_MODEL_CONFIG"],
        model_name=tiny_models["F5_MODEL"],
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> np.ndarray:
    path = espeak_wav(REF_TEXT, tmp_path_factory.mktemp("f5") / "ref.wav")
    return prepare_reference(decode_audio(path.read_bytes(), F5_SAMPLE_RATE, max_seconds=60), F5_SAMPLE_RATE)


def cross_fade_join(waves: list[np.ndarray], fade_samples: int) -> np.ndarray:
    """The waves joined whole, as a job's loop joins them piece by piece."""
    joiner = CrossFadeJoiner(fade_samples)
    pieces = [joiner.push(wave, "") for wave in waves]
    pieces.append(joiner.finish())
    return np.concatenate(pieces).astype(np.float32, copy=False)


def synth(
    engine: F5Engine, reference: np.ndarray, chunks: list[str], seed: int = 7, fix_duration: float | None = None
) -> np.ndarray:
    """Chunks as a single-voice job speaks them: chunk i with chunk_seed(seed, i), cross-faded."""
    durations = chunk_durations(fix_duration, reference.size, chunks, FADE)
    waves = [
        engine.synthesize_chunk(reference, REF_TEXT, chunk, PARAMS, seed=chunk_seed(seed, index), duration=duration)
        for index, (chunk, duration) in enumerate(zip(chunks, durations, strict=True))
    ]
    return cross_fade_join(waves, round(FADE * F5_SAMPLE_RATE))


def test_describe_names_model_device_and_dtype(engine, tiny_models):  # noqa: F811
    assert engine.describe() == {
        "model": "F5TTS_v1_Base",
        "ckpt": Path(tiny_models["F5_CKPT_FILE"]).name,  # a local path shows only its last part
        "device": "cpu",
        "dtype": "float32",
        "flash_attn": None,
    }


def test_short_text_gives_finite_24khz_mono_of_plausible_length(engine, reference):
    audio = synth(engine, reference, ["A short sentence to say."])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    # f5-tts sizes speech from the reference's pace: bytes of text per reference frame
    ref_frames = reference.size // HOP_LENGTH
    expected = ref_frames / len(f5_ref_text(REF_TEXT).encode()) * len("A short sentence to say.") * HOP_LENGTH
    assert audio.size == pytest.approx(expected, rel=0.05)


def test_same_seed_is_bit_identical_even_with_several_chunks(engine, reference):
    first = synth(engine, reference, CHUNKS, seed=11)
    second = synth(engine, reference, CHUNKS, seed=11)
    assert np.array_equal(first, second)
    assert np.isfinite(first).all()


def test_another_seed_gives_other_audio_of_the_same_length(engine, reference):
    one = synth(engine, reference, CHUNKS[:2], seed=1)
    two = synth(engine, reference, CHUNKS[:2], seed=2)
    assert one.size == two.size and not np.array_equal(one, two)


def test_fix_duration_sets_the_total_length(engine, reference):
    ref_seconds = reference.size // HOP_LENGTH * HOP_LENGTH / F5_SAMPLE_RATE
    audio = synth(engine, reference, CHUNKS[:2], fix_duration=ref_seconds + 3.0)
    assert audio.size / F5_SAMPLE_RATE == pytest.approx(3.0, abs=0.03)


def test_concurrent_jobs_give_the_audio_they_give_alone(engine, reference):
    alone = {seed: synth(engine, reference, CHUNKS[:1], seed=seed) for seed in (21, 22)}
    results: dict[int, np.ndarray] = {}

    def job(seed: int) -> None:
        results[seed] = synth(engine, reference, CHUNKS[:1], seed=seed)

    threads = [threading.Thread(target=job, args=(seed,)) for seed in alone]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(results[seed], alone[seed]) for seed in alone)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torchaudio 2.8 deprecation notices from infer_process
def test_single_chunk_matches_f5_tts_own_pipeline(engine, reference, tmp_path):
    import torch
    from f5_tts.infer.utils_infer import infer_process

    path = tmp_path / "ref.wav"
    sf.write(path, reference, F5_SAMPLE_RATE, subtype="FLOAT")
    text = "Spoken the way f5-tts would speak it."
    torch.manual_seed(5)
    theirs, rate, _ = infer_process(
        str(path),
        f5_ref_text(REF_TEXT),
        text,
        engine.model,
        engine.vocoder,
        show_info=lambda *_: None,
        progress=None,
        device="cpu",
        cross_fade_duration=FADE,
        fix_duration=None,
        **dataclasses.asdict(PARAMS),
    )
    ours = synth(engine, reference, [text], seed=5)
    assert rate == F5_SAMPLE_RATE and np.array_equal(ours, theirs)


@pytest.mark.parametrize("ref_text", ["", "   "])
def test_empty_ref_text_is_refused(engine, reference, ref_text):
    with pytest.raises(ValueError, match="ref_text is empty"):
        engine.synthesize_chunk(reference, ref_text, "Hi there.", PARAMS, seed=0)


@pytest.mark.parametrize("text", ["", " "])
def test_empty_chunks_are_refused(engine, reference, text):
    with pytest.raises(ValueError, match="text is empty"):
        engine.synthesize_chunk(reference, REF_TEXT, text, PARAMS, seed=0)


def test_silent_reference_is_refused(engine):
    with pytest.raises(ValueError, match="silent"):
        engine.synthesize_chunk(np.zeros(F5_SAMPLE_RATE, dtype=np.float32), REF_TEXT, "Hi.", PARAMS, seed=0)


# --------------------------------------------------------------------------- helpers, without a model


def test_load_refuses_to_fall_back_to_hub_models():
    with pytest.raises(ValueError, match="ckpt_file is required"):
        F5Engine.load(ckpt_file="", vocab_file="v.txt", vocoder_path="vocos", model_config=None)


def test_chunk_seeds_start_at_the_job_seed_and_differ():
    assert chunk_seed(42, 0) == 42
    seeds = {chunk_seed(42, index) for index in range(50)}
    assert len(seeds) == 50 and chunk_seed(42, 1) != chunk_seed(43, 0)
    assert chunk_seed(-1, 0) == 2**64 - 1 and 0 <= chunk_seed(-5, 3) < 2**64


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Hello", "Hello. "), ("Hello.", "Hello. "), (" Hello. ", "Hello. "), ("Hi!", "Hi!. "), ("你好。", "你好。")],
)
def test_ref_text_ends_like_f5_tts_leaves_it(text, expected):
    assert f5_ref_text(text) == expected


def test_cross_fade_overlaps_neighbours_linearly():
    a, b = np.ones(10, dtype=np.float32), np.full(10, 3.0, dtype=np.float32)
    out = cross_fade_join([a, b], 4)
    assert out.size == 16
    assert np.allclose(out[6:10], [1.0, 1 + 2 / 3, 1 + 4 / 3, 3.0])
    assert np.array_equal(cross_fade_join([a, b], 0), np.concatenate([a, b]))
    assert cross_fade_join([a[:2], b], 4).size == 10  # overlap limited by the shorter wave
    assert cross_fade_join([], 4).size == 0


def test_joiner_releases_only_settled_samples_and_records_spans():
    rng = np.random.default_rng(3)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (50, 3, 40, 20)]
    joiner = CrossFadeJoiner(8)
    pieces = [joiner.push(wave, f"chunk {i}") for i, wave in enumerate(waves)]
    pieces.append(joiner.finish())
    streamed = np.concatenate(pieces)
    assert np.array_equal(streamed, cross_fade_join(waves, 8))  # bit-identical to the batch join
    spans = joiner.spans
    assert [s.text for s in spans] == ["chunk 0", "chunk 1", "chunk 2", "chunk 3"]
    assert spans[0].start == 0 and spans[-1].end == streamed.size
    for span, wave in zip(spans, waves, strict=True):
        assert span.end - span.start == wave.size
    for before, after in zip(spans, spans[1:], strict=False):
        assert before.fade_out == after.fade_in and after.start == before.end - after.fade_in
    assert spans[1].fade_in == 3  # a chunk shorter than the fade limits its overlap
