"""``python runpod-handler.py --test_input``: RunPod's one-job local mode and its exit codes."""

import subprocess

from tests.helpers import REPO, TEST_SECRET_KEY, run_test_input, worker_env


def test_health_job_exits_zero(tmp_path):
    result = run_test_input({"endpoint": "health"}, worker_env(STORAGE_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "'status': 'ok'" in result.stdout + result.stderr


def test_failed_job_exits_one_with_its_error(tmp_path):
    result = run_test_input({"endpoint": "result", "job_id": "../x"}, worker_env(STORAGE_DIR=str(tmp_path)))
    assert result.returncode == 1
    assert "invalid_input: job_id: must match" in result.stdout + result.stderr


def test_half_configured_s3_refuses_to_start(tmp_path):
    env = worker_env(STORAGE_DIR=str(tmp_path), AWS_S3_BUCKET="b", AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY)
    result = run_test_input({"endpoint": "health"}, env)
    logs = result.stdout + result.stderr
    assert result.returncode == 2
    assert "half-configured" in logs and "AWS_ACCESS_KEY_ID" in logs
    assert TEST_SECRET_KEY not in logs


def test_readme_demo_runs_a_tts_job_on_local_storage(tmp_path, tiny_tts_env):
    """The README's main command (tiny models, local storage), minus the install step already done."""
    env = worker_env(STORAGE_DIR=str(tmp_path / "storage"), SKIP_SETUP="1", **tiny_tts_env)
    result = subprocess.run(["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("demo: health ok", "demo: voice uploaded", "demo: tts ok", "demo: download ok"):
        assert line in result.stdout
    assert "Welcome to the demo." in result.stdout  # the SRT shows the caller's text
    assert (tmp_path / "storage" / "voices" / "demo.wav").is_file()
