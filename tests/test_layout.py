import re

import pytest

from f5worker.storage import layout


def test_keys_follow_the_documented_layout():
    assert layout.audio_key("job-1", "wav") == "outputs/job-1/audio.wav"
    assert layout.timing_key("job-1", "srt") == "outputs/job-1/timings.srt"
    assert layout.result_key("job-1") == "results/job-1.json"
    assert layout.voice_audio_key("narrator", "flac") == "voices/narrator.flac"
    assert layout.voice_text_key("narrator") == "voices/narrator.txt"
    assert layout.model_file_key("f5-tts/base", "ckpt/model.pt") == "models/f5-tts/base/ckpt/model.pt"
    assert layout.model_manifest_key("vocos") == "models/vocos/manifest.json"
    assert layout.model_lock_key("vocos") == "models/vocos/.lock"


@pytest.mark.parametrize("name", ["../outputs", "a/../../b", "/abs", "odd name"])
def test_model_keys_refuse_names_that_leave_models(name):
    with pytest.raises(ValueError):
        layout.model_file_key(name, "manifest.json")


@pytest.mark.parametrize("key", ["../x", "a/../../b", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "voices/ x"])
def test_unsafe_keys_are_refused(key):
    with pytest.raises(ValueError):
        layout.check_key(key)


@pytest.mark.parametrize("job_id", ["../etc", "a/b", "", "x" * 129, "a.b", "a b"])
def test_job_id_pattern_refuses_traversal_and_odd_ids(job_id):
    assert not re.match(layout.JOB_ID_PATTERN, job_id)
