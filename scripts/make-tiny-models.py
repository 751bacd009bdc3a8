#!/usr/bin/env python3
"""Build tiny, randomly initialised stand-ins for the worker's models, in their real on-disk formats.

Usage: python scripts/make-tiny-models.py OUT_DIR [--seed N] [--verify]

Everything is built on the CPU from fixed seeds, without any network access, in a few seconds (most
of the run time is importing torch, f5-tts and transformers). The models are untrained: they produce
noise, but through exactly the code paths, file formats and tensor shapes of the real ones.

OUT_DIR/
  f5tts/model_tiny.safetensors  F5-TTS checkpoint (EMA weights, "ema_model." key prefix), DiT backbone
  f5tts/model_tiny.pt           the same weights as a trainer-style .pt ({"ema_model_state_dict": ...})
  f5tts/model.yaml              model config in the layout of f5_tts/configs/*.yaml (model.backbone, model.arch)
  f5tts/vocab.txt               character vocabulary, one token per line, space first (index 0 = unknown)
  vocos/                        config.yaml + pytorch_model.bin for f5-tts load_vocoder(is_local=True)
  align-en/                     Wav2Vec2ForCTC + Wav2Vec2Processor (save_pretrained) for whisperx alignment
  nltk_data/                    minimal punkt_tab/english sentence splitter (whisperx.align needs it)
  tiny.env                      KEY=VALUE lines pointing at all of the above (absolute paths)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

# Mel settings are fixed by f5-tts (f5_tts/infer/utils_infer.py): the vocoder must match them.
SAMPLE_RATE = 24000
N_MELS = 100
HOP_LENGTH = 256
WIN_LENGTH = 1024
N_FFT = 1024

# Tiny DiT with the options of f5_tts/configs/F5TTS_v1_Base.yaml (text_mask_padding, conv text blocks,
# no qk_norm, torch attention) but with small dimensions. dim must be a multiple of 16 (ConvPositionEmbedding
# uses 16 groups) and text_dim must be even (sinusoidal text positions).
F5_ARCH = {
    "dim": 64,
    "depth": 2,
    "heads": 2,
    "dim_head": 32,
    "ff_mult": 2,
    "text_dim": 32,
    "text_mask_padding": True,
    "qk_norm": None,
    "conv_layers": 2,
    "pe_attn_head": None,
    "attn_backend": "torch",
    "attn_mask_enabled": False,
    "checkpoint_activations": False,
}
F5_FAMILY = "F5TTS_v1_Base"
F5_BACKBONE = "DiT"

VOCOS_DIM = 64
VOCOS_INTERMEDIATE_DIM = 192
VOCOS_LAYERS = 2

ALIGN_SAMPLE_RATE = 16000
ALIGN_SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]

PUNKT_ABBREVIATIONS = ["dr", "e.g", "etc", "i.e", "jr", "mr", "mrs", "ms", "no", "prof", "sr", "st", "vs"]


class BuildError(Exception):
    """A failure with a message meant for the person running the script."""


def f5_vocab() -> list[str]:
    """Character vocabulary for f5-tts's "custom" tokenizer.

    f5-tts turns text into a list of characters (convert_char_to_pinyin leaves Latin text as single
    characters, maps ';' to ',' and curly quotes to straight ones) and looks each one up in this
    vocabulary; anything missing becomes index 0, which must be the space.
    """
    tokens = [" "]
    tokens += [chr(code) for code in range(0x21, 0x7F)]  # printable ASCII: punctuation, digits, letters
    tokens += [chr(code) for code in range(0xC0, 0x100) if code not in (0xD7, 0xF7)]  # Latin-1 letters
    tokens += list("ŒœŠšŽžŸ¡¿«»–—…")
    seen: set[str] = set()
    unique = []
    for token in tokens:
        if token not in seen:
            seen.add(token)
            unique.append(token)
    return unique


def write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def import_stack():
    """Import the heavy libraries, turning a broken install into a clear message."""
    try:
        import torch
        import yaml
    except ImportError as exc:
        raise BuildError(f"cannot import torch/yaml ({exc}); run with the project's virtualenv") from exc
    try:
        from f5_tts.model import CFM, DiT
        from f5_tts.model.utils import get_tokenizer
    except Exception as exc:
        hint = ""
        if "PyExtensionType" in str(exc):
            hint = " (datasets is too old for the installed pyarrow: pin pyarrow<21 or upgrade datasets)"
        raise BuildError(f"cannot import f5_tts.model: {type(exc).__name__}: {exc}{hint}") from exc
    return torch, yaml, CFM, DiT, get_tokenizer


def build_f5(out: Path, seed: int, torch, yaml, CFM, DiT, get_tokenizer) -> dict[str, Path]:
    from safetensors.torch import save_file

    folder = out / "f5tts"
    folder.mkdir(parents=True, exist_ok=True)
    vocab_path = folder / "vocab.txt"
    write_text(vocab_path, "".join(token + "\n" for token in f5_vocab()))

    # Exactly what f5_tts.infer.utils_infer.load_model builds (it always uses the "custom" tokenizer).
    vocab_char_map, vocab_size = get_tokenizer(str(vocab_path), "custom")
    torch.manual_seed(seed)
    model = CFM(
        transformer=DiT(**F5_ARCH, text_num_embeds=vocab_size, mel_dim=N_MELS),
        mel_spec_kwargs={
            "n_fft": N_FFT,
            "hop_length": HOP_LENGTH,
            "win_length": WIN_LENGTH,
            "n_mel_channels": N_MELS,
            "target_sample_rate": SAMPLE_RATE,
            "mel_spec_type": "vocos",
        },
        odeint_kwargs={"method": "euler"},
        vocab_char_map=vocab_char_map,
    )
    # DiT zero-initialises its adaptive norms and output projection, which would make the untrained model
    # ignore its input entirely; small random values let text and reference audio change the output.
    generator = torch.Generator().manual_seed(seed + 1)
    transformer = model.transformer
    zeroed = [block.attn_norm.linear for block in transformer.transformer_blocks]
    zeroed += [transformer.norm_out.linear, transformer.proj_out]
    with torch.no_grad():
        for layer in zeroed:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.02)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator) * 0.02)

    weights = {
        "ema_model." + key: value.detach().to(torch.float32).contiguous() for key, value in model.state_dict().items()
    }
    safetensors_path = folder / "model_tiny.safetensors"
    save_file(weights, str(safetensors_path), metadata={"format": "pt"})
    # A training checkpoint also carries the EMA wrapper's own buffers; load_checkpoint drops them.
    ema_state = dict(weights)
    ema_state["initted"] = torch.tensor(True)
    ema_state["step"] = torch.tensor(0)
    pt_path = folder / "model_tiny.pt"
    torch.save({"ema_model_state_dict": ema_state, "update": 0}, pt_path)

    config = {
        "model": {
            "name": "F5TTS_v1_Tiny",
            "tokenizer": "custom",
            "tokenizer_path": str(vocab_path),
            "backbone": F5_BACKBONE,
            "arch": dict(F5_ARCH),
            "mel_spec": {
                "target_sample_rate": SAMPLE_RATE,
                "n_mel_channels": N_MELS,
                "hop_length": HOP_LENGTH,
                "win_length": WIN_LENGTH,
                "n_fft": N_FFT,
                "mel_spec_type": "vocos",
            },
            "vocoder": {"is_local": True, "local_path": str(out / "vocos")},
        }
    }
    config_path = folder / "model.yaml"
    write_text(config_path, yaml.safe_dump(config, sort_keys=False))
    return {"ckpt": safetensors_path, "ckpt_pt": pt_path, "vocab": vocab_path, "config": config_path}


def build_vocos(out: Path, seed: int, torch, yaml) -> Path:
    from vocos import Vocos

    folder = out / "vocos"
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "feature_extractor": {
            "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
            "init_args": {
                "sample_rate": SAMPLE_RATE,
                "n_fft": N_FFT,
                "hop_length": HOP_LENGTH,
                "n_mels": N_MELS,
                "padding": "center",
            },
        },
        "backbone": {
            "class_path": "vocos.models.VocosBackbone",
            "init_args": {
                "input_channels": N_MELS,
                "dim": VOCOS_DIM,
                "intermediate_dim": VOCOS_INTERMEDIATE_DIM,
                "num_layers": VOCOS_LAYERS,
            },
        },
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": {"dim": VOCOS_DIM, "n_fft": N_FFT, "hop_length": HOP_LENGTH, "padding": "same"},
        },
    }
    config_path = folder / "config.yaml"
    write_text(config_path, yaml.safe_dump(config, sort_keys=False))
    torch.manual_seed(seed)
    vocoder = Vocos.from_hparams(str(config_path))
    state = {key: value.detach().contiguous() for key, value in vocoder.state_dict().items()}
    torch.save(state, folder / "pytorch_model.bin")
    return folder


def build_align(out: Path, seed: int, torch) -> Path:
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    folder = out / "align-en"
    folder.mkdir(parents=True, exist_ok=True)
    # Layout of facebook/wav2vec2-base-960h: CTC blank "<pad>" first (whisperx looks for "<pad>" or "[pad]"),
    # "|" as word delimiter (whisperx replaces spaces by it), then the characters. whisperx lower-cases the
    # keys, so lower-case letters are used directly.
    symbols = ALIGN_SPECIALS + ["|", "'"] + [chr(code) for code in range(ord("a"), ord("z") + 1)]
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    vocab_path = folder / "vocab.json"
    write_text(vocab_path, json.dumps(vocab, ensure_ascii=False, indent=2) + "\n")
    # do_lower_case must stay False: in transformers it upper-cases the input text.
    tokenizer = Wav2Vec2CTCTokenizer(
        str(vocab_path),
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        word_delimiter_token="|",
        do_lower_case=False,
    )
    feature_extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=ALIGN_SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=False,
    )
    processor = Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer)
    # The convolutional front end keeps wav2vec2's strides (320 samples, 20 ms per frame at 16 kHz), so
    # timings come out on the real scale; only widths and depths shrink.
    config = Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        feat_extract_norm="group",
        do_stable_layer_norm=False,
        apply_spec_augment=False,
        layerdrop=0.0,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        ctc_loss_reduction="mean",
    )
    torch.manual_seed(seed)
    model = Wav2Vec2ForCTC(config).eval()
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return folder


def build_punkt(out: Path) -> Path:
    """An English punkt_tab model with no learned statistics beyond a few abbreviations.

    whisperx.align splits segments into sentences with nltk's punkt_tab and calls nltk.download() when it
    is missing, which needs the internet. Point NLTK_DATA at this folder (before nltk is imported).
    """
    root = out / "nltk_data"
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "abbrev_types.txt", "".join(word + "\n" for word in PUNKT_ABBREVIATIONS))
    for name in ("collocations.tab", "sent_starters.txt", "ortho_context.tab"):
        write_text(folder / name, "")
    return root


def env_value(value: str) -> str:
    quoted = shlex.quote(value)
    if quoted != value:
        print(f"warning: {value!r} needs shell quoting in tiny.env", file=sys.stderr)
    return quoted


def write_env(out: Path, f5: dict[str, Path], vocos_dir: Path, align_dir: Path, nltk_dir: Path) -> Path:
    values = {
        "F5_MODEL": F5_FAMILY,
        "F5_CKPT_FILE": str(f5["ckpt"]),
        "F5_VOCAB_FILE": str(f5["vocab"]),
        "F5_VOCODER_PATH": str(vocos_dir),
        "F5_MODEL_CONFIG": str(f5["config"]),
        "ALIGN_MODEL": str(align_dir),
        "NLTK_DATA": str(nltk_dir),
        "HF_HUB_OFFLINE": "1",
    }
    path = out / "tiny.env"
    write_text(path, "".join(f"{key}={env_value(value)}\n" for key, value in values.items()))
    return path


def verify(f5: dict[str, Path], vocos_dir: Path, align_dir: Path, yaml) -> None:
    """Load every artefact with the loaders the worker uses (no inference)."""
    from f5_tts.infer.utils_infer import load_model, load_vocoder
    from hydra.utils import get_class
    from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

    with open(f5["config"], encoding="utf-8") as handle:
        model_cfg = yaml.safe_load(handle)["model"]
    model_cls = get_class(f"f5_tts.model.{model_cfg['backbone']}")
    for ckpt in (f5["ckpt"], f5["ckpt_pt"]):
        load_model(
            model_cls,
            model_cfg["arch"],
            str(ckpt),
            mel_spec_type=model_cfg["mel_spec"]["mel_spec_type"],
            vocab_file=str(f5["vocab"]),
            device="cpu",
        )
    load_vocoder(vocoder_name="vocos", is_local=True, local_path=str(vocos_dir), device="cpu")
    # What whisperx.load_align_model does for a model name that is not a torchaudio bundle.
    processor = Wav2Vec2Processor.from_pretrained(str(align_dir), local_files_only=True)
    Wav2Vec2ForCTC.from_pretrained(str(align_dir), local_files_only=True)
    vocab = processor.tokenizer.get_vocab()
    if "<pad>" not in vocab or "|" not in vocab:
        raise BuildError("alignment vocabulary lacks '<pad>' or '|'")
    print("verify: all artefacts load with the real loaders")


def build(out: Path, seed: int, check: bool) -> None:
    try:  # fail before the slow imports when the folder cannot be written
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BuildError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    torch, yaml, CFM, DiT, get_tokenizer = import_stack()
    torch.set_num_threads(1)
    f5 = build_f5(out, seed, torch, yaml, CFM, DiT, get_tokenizer)
    vocos_dir = build_vocos(out, seed + 10, torch, yaml)
    align_dir = build_align(out, seed + 20, torch)
    nltk_dir = build_punkt(out)
    env_path = write_env(out, f5, vocos_dir, align_dir, nltk_dir)
    if check:
        verify(f5, vocos_dir, align_dir, yaml)
    artefacts = [
        ("f5 checkpoint", f5["ckpt"]),
        ("f5 checkpoint (.pt)", f5["ckpt_pt"]),
        ("f5 model config", f5["config"]),
        ("f5 vocab", f5["vocab"]),
        ("vocos vocoder", vocos_dir),
        ("align model", align_dir),
        ("nltk punkt_tab", nltk_dir),
        ("env file", env_path),
    ]
    for label, path in artefacts:
        print(f"{label:<20} {path}  {size_of(path):,} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build tiny random F5-TTS, Vocos and wav2vec2 models in their real on-disk formats, "
        "plus a tiny.env pointing at them.",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="base random seed (default: 0)")
    parser.add_argument("--verify", action="store_true", help="afterwards load every artefact with the real loaders")
    args = parser.parse_args(argv)
    out = args.out_dir.expanduser().resolve()
    try:
        build(out, args.seed, args.verify)
    except BuildError as exc:
        print(f"make-tiny-models: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"make-tiny-models: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
