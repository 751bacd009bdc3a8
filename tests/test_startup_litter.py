"""A worker start leaves nothing in the temp directory (f5-tts's wandb import used to leave
``tmp*wandb-media`` / ``tmp*wandb-artifacts`` at every start).

A real worker (``--rp_serve_api`` with the tiny F5-TTS, so f5-tts and wandb are imported) runs with
``TMPDIR`` pointing at an empty folder, serves a good job, is stopped with SIGTERM as the platform
stops it, and the folder is listed.
"""

from __future__ import annotations

import os
import subprocess
import sys

from f5worker.temp_root import ROOT_PREFIX, remove_stale_roots, use_private_temp_root
from tests.helpers import WorkerAPI, worker_env


def test_a_started_and_stopped_worker_leaves_an_empty_temp_dir(tiny_tts_env, tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    # No timing engine to load (google is unconfigured): the test is about f5-tts's import.
    env = worker_env(
        **tiny_tts_env,
        TMPDIR=str(temp),
        STORAGE_DIR=str(tmp_path / "storage"),
        VOICE_CACHE_DIR=str(tmp_path / "voices"),
        TIMING_ENGINES="google",
    )
    api = WorkerAPI(env, tmp_path / "worker.log")
    try:
        api.wait_ready(timeout=600)  # f5-tts's import is slow on a shared 2-core machine
        # Beside the private root only the SDK job-state folder, which later starts must find (issue 16).
        inside = [path.name for path in temp.iterdir() if path.name != "f5worker-sdk-state"]
        assert len(inside) == 1 and inside[0].startswith(f"{ROOT_PREFIX}{api.process.pid}-"), inside
        own = list((temp / inside[0]).iterdir())
        assert any("wandb" in path.name for path in own), "f5-tts's import should have run (and written here)"
        assert api.output({"endpoint": "health"})["status"] in ("ok", "degraded")
    finally:
        api.stop()  # SIGTERM, as the platform stops a worker
    # the SDK state folder is shared between worker processes (issue 16)
    assert [path.name for path in temp.iterdir()] in ([], ["f5worker-sdk-state"])


def test_roots_of_dead_workers_are_removed_at_the_next_start(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{ROOT_PREFIX}{dead.stdout.strip()}-abc"
    (stale / "tmpxyzwandb-media").mkdir(parents=True)
    alive = tmp_path / f"{ROOT_PREFIX}{os.getppid()}-def"
    alive.mkdir()
    assert remove_stale_roots(tmp_path) == [stale]
    assert not stale.exists() and alive.exists()


def test_the_hook_points_tempfile_and_children_at_the_root(tmp_path):
    code = (
        "import os, sys, tempfile; sys.path.insert(0, sys.argv[1]);"
        "from f5worker.temp_root import use_private_temp_root as use; root = use(sys.argv[2]);"
        "print(tempfile.mkdtemp().startswith(str(root)), os.environ['TMPDIR'] == str(root))"
    )
    repo = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-c", code, repo, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "True"]
    assert list(tmp_path.iterdir()) == []  # removed at exit, with what was made inside it
    assert use_private_temp_root is not None
