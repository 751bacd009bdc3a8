"""Where alignment models come from: a local folder, the restored model cache, else the hub at start-up only."""

from __future__ import annotations

import pytest

from f5worker.engines import model_files
from f5worker.engines.model_files import cached_align_model, resolve_align_models
from f5worker.settings import DEFAULT_ALIGN_MODEL, Settings

HUB_NAME = "facebook/wav2vec2-base-960h"


def test_the_default_names_the_english_wav2vec2_model_and_off_names_none():
    assert f"en={HUB_NAME}" == DEFAULT_ALIGN_MODEL
    assert Settings().align_models == {"en": HUB_NAME}
    assert Settings(align_model="off").align_models == {} == Settings(align_model=None).align_models


def cached_copy(cache, name=HUB_NAME):
    folder = cache / "align" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    return folder


def test_a_local_folder_then_the_model_cache_then_the_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "hub_offline", lambda: False)
    local = tmp_path / "mine"
    local.mkdir()
    settings = Settings(model_cache_dir=tmp_path / "cache", align_model=f"en={HUB_NAME},de={local},fr=owner/fr-model")
    assert cached_align_model(settings, HUB_NAME) is None
    assert resolve_align_models(settings) == ({"en": HUB_NAME, "de": str(local), "fr": "owner/fr-model"}, {})
    folder = cached_copy(tmp_path / "cache")
    assert resolve_align_models(settings)[0]["en"] == str(folder)


@pytest.mark.parametrize("cached", [False, True])
def test_with_the_hub_off_only_what_is_on_disk_loads(tmp_path, monkeypatch, cached):
    monkeypatch.setattr(model_files, "hub_offline", lambda: True)
    settings = Settings(model_cache_dir=tmp_path / "cache")
    if cached:
        folder = cached_copy(tmp_path / "cache")
        assert resolve_align_models(settings) == ({"en": str(folder)}, {})
    else:
        assert resolve_align_models(settings) == (
            {},
            {"en": "not in the model cache (run model_cache_init.py) and HF_HUB_OFFLINE is set"},
        )


def test_the_test_suite_runs_with_the_hub_off():
    assert model_files.hub_offline()
