from pathlib import Path

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.engines import Engines
from f5worker.engines.model_files import public_name
from tests.helpers import tiny_whisper_model


def strings_in(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings_in(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return [value] if isinstance(value, str) else []


def test_health_reports_versions_storage_disk_and_device(s3_ctx):
    output = handle_job({"id": "h", "input": {"endpoint": "health"}}, s3_ctx)
    assert output["status"] == "ok"
    assert output["versions"]["runpod"] and output["versions"]["python"]
    assert output["storage"]["backend"] == "s3" and output["storage"]["region"] == "us-west-004"
    assert output["free_disk_bytes"] > 0
    assert output["device"] in ("cpu", "cuda")
    assert "secret" not in str(output).lower()


def test_health_reports_each_loaded_engine_without_paths_of_the_workers_disk(
    s3_settings, s3_storage, engines, tiny_models
):
    """The real (tiny) F5-TTS and Whisper, loaded from files in temp folders, plus one failed engine."""
    loaded = Engines(
        device="cpu",
        loaded=dict(engines.loaded),
        load_ms=dict(engines.load_ms),
        errors={"google": "not configured (set GOOGLE_CREDENTIALS_JSON)"},
    )
    ctx = build_context(s3_settings, engines=loaded)
    ctx.storage = s3_storage
    reported = handle_job({"id": "h", "input": {"endpoint": "health"}}, ctx)["engines"]

    assert set(reported) == {"tts", "whisperx", "google"}
    for name in ("tts", "whisperx"):
        assert reported[name]["loaded"] is True and reported[name]["error"] is None
        assert reported[name]["load_ms"] > 0
    assert reported["google"] == {
        "loaded": False,
        "error": "not configured (set GOOGLE_CREDENTIALS_JSON)",
        "load_ms": None,
        "details": None,
    }
    assert reported["tts"]["details"]["ckpt"] == Path(tiny_models["F5_CKPT_FILE"]).name
    assert reported["whisperx"]["details"]["model"] == Path(tiny_whisper_model()).name
    folders = {str(Path(tiny_models["F5_CKPT_FILE"]).parent), str(Path(tiny_whisper_model()).parent)}
    leaked = [text for text in strings_in(reported) if "/" in text or any(folder in text for folder in folders)]
    assert not leaked


def test_public_names_keep_hub_names_and_drop_folders(tmp_path):
    (tmp_path / "models" / "tiny.en").mkdir(parents=True)
    assert public_name(str(tmp_path / "models" / "tiny.en")) == "tiny.en"
    assert public_name("/gone/model_1250000.safetensors") == "model_1250000.safetensors"
    assert public_name("large-v3") == "large-v3"
    hub_id = "jonatasgrosman/wav2vec2-large-xlsr-53-english"
    assert public_name(hub_id) == hub_id


def test_health_lists_the_alignment_engines_and_why_one_is_missing(s3_settings, s3_storage, engines):
    """The warm forced aligner, and WhisperX without its default wav2vec2 model (offline, not in the cache)."""
    from f5worker.timing.aligner import ForcedAligner

    loaded = Engines(device="cpu", loaded=dict(engines.loaded))
    loaded.load("aligner", ForcedAligner.load)
    ctx = build_context(s3_settings, engines=loaded)
    ctx.storage = s3_storage
    alignment = handle_job({"id": "h", "input": {"endpoint": "health"}}, ctx)["alignment"]
    assert alignment == {
        "aligner": {"method": "pocketsphinx", "languages": ["en"], "error": None},
        "whisperx": {
            "method": "wav2vec2",
            "languages": [],
            "models": {"en": "facebook/wav2vec2-base-960h"},
            "errors": {"en": "not in the model cache (run model_cache_init.py) and HF_HUB_OFFLINE is set"},
        },
    }


def test_health_says_so_when_neither_aligner_is_loaded(local_ctx):
    local_ctx.engines.errors["aligner"] = "disabled (FORCED_ALIGNER=off)"
    alignment = handle_job({"id": "h", "input": {"endpoint": "health"}}, local_ctx)["alignment"]
    assert alignment["aligner"] == {"method": "pocketsphinx", "languages": [], "error": "disabled (FORCED_ALIGNER=off)"}
    assert alignment["whisperx"]["errors"] == {"en": "the whisperx engine is not loaded"}
