"""A worker start leaves nothing in the temp directory (f5-tts's wandb import used to leave
``tmp*wandb-media`` / ``tmp*wandb-artifacts`` at every start).

A real worker (``--rp_serve_api`` with the tiny F5-TTS, so f5-tts and wandb are imported) runs with
``TMPDIR`` pointing at an empty folder, serves a good job, is stopped with SIGTERM as the platform
stops it, and the folder is listed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from f5worker.temp_root import ROOT_PREFIX, use_private_temp_root
from tests.helpers import REPO, WorkerAPI, worker_env

# A process that takes a private temp root under argv[1], prints it, then does what argv[2] says.
TAKES_A_ROOT = f"""
import os, signal, sys, time
sys.path.insert(0, {str(REPO)!r})
from f5worker.temp_root import use_private_temp_root
root = use_private_temp_root(sys.argv[1])
(root / "tmpxyzwandb-media").mkdir()
print(root, flush=True)
if sys.argv[2] == "killed":
    os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does: no exit hook runs
elif sys.argv[2] == "live":
    time.sleep(60)
"""


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


def take_a_root(base: Path, how: str) -> tuple[subprocess.CompletedProcess | subprocess.Popen, Path]:
    """A process that took a root under ``base``: finished (``killed``, ``exits``) or still running (``live``)."""
    command = [sys.executable, "-c", TAKES_A_ROOT, str(base), how]
    if how == "live":
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        return process, Path(process.stdout.readline().strip())
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    return done, Path(done.stdout.strip())


def test_the_root_of_a_killed_worker_is_removed_at_the_next_start_and_a_live_workers_kept(tmp_path):
    killed, stale = take_a_root(tmp_path, "killed")
    assert killed.returncode == -9 and (stale / "tmpxyzwandb-media").is_dir()  # SIGKILL: nothing removed it
    live, alive = take_a_root(tmp_path, "live")
    try:
        nxt, own = take_a_root(tmp_path, "exits")
        assert nxt.returncode == 0, nxt.stderr
        assert not stale.exists() and not own.exists()  # the next start removed the stale root; its exit, its own
        assert [path.name for path in tmp_path.iterdir()] == [alive.name]
    finally:
        live.kill()
        live.wait(timeout=30)
        live.stdout.close()


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
