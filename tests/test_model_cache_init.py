"""model_cache_init.py as a script: two workers at once on moto's S3 with the tiny models, and no S3."""

import subprocess
import sys

from tests.helpers import REPO, s3_env, worker_env


def test_two_concurrent_processes_upload_once(moto_endpoint, bucket, tiny_f5_dir, tmp_path):
    env = worker_env(**s3_env(moto_endpoint, bucket))
    command = [
        sys.executable,
        str(REPO / "model_cache_init.py"),
        "--only-extra",
        "--model",
        f"f5-tts/tiny={tiny_f5_dir}",
    ]
    processes = [
        subprocess.Popen(
            [*command, "--dest", str(tmp_path / f"w{i}")],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    lines = [out.strip() for out, _err in outputs]
    assert all(process.returncode == 0 for process in processes), outputs
    assert sorted(line.split(":")[1].split()[0] for line in lines) == ["restored", "uploaded"], lines
    for i in range(2):
        assert (tmp_path / f"w{i}" / "f5-tts" / "tiny" / "vocab.txt").read_bytes() == (
            tiny_f5_dir / "vocab.txt"
        ).read_bytes()


def test_script_without_s3_has_nothing_to_do(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "model_cache_init.py")],
        env=worker_env(STORAGE_DIR=str(tmp_path)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "nothing to do" in result.stderr
