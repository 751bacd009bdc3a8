"""scripts/s3sync.py: in-process against moto with the B2 header guard, and as the command the start scripts run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from f5worker.storage import LocalStorage
from tests.helpers import REPO, TEST_SECRET_KEY, s3_env

_spec = importlib.util.spec_from_file_location("s3sync", REPO / "scripts" / "s3sync.py")
s3sync = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("s3sync", s3sync)  # dataclasses look their module up there
_spec.loader.exec_module(s3sync)

FLASH = "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "wheels"
    (src / "sub").mkdir(parents=True)
    (src / "tiny_a-1.0-py3-none-any.whl").write_bytes(b"a" * 100)
    (src / "sub" / "tiny_b-1.0-py3-none-any.whl").write_bytes(b"b" * 50)
    (src / FLASH).write_bytes(b"f" * 10)
    (src / ".tmp-unfinished").write_bytes(b"partial")  # an unfinished copy: never uploaded
    return src


def count_calls(storage, operation: str) -> list:
    calls: list = []
    storage.client.meta.events.register(f"before-call.s3.{operation}", lambda **kwargs: calls.append(1))
    return calls


def test_segments_round_trip_and_stay_key_safe():
    from f5worker.storage.layout import check_key

    for name in (FLASH, "torch-2.8.0+cu128-cp311-cp311-manylinux_2_28_x86_64.whl", "plain-1.0.whl", "ü~x"):
        encoded = s3sync.encode_segment(name)
        assert check_key(f"wheels/{encoded}")
        assert s3sync.decode_segment(encoded) == name
    assert s3sync.encode_segment("tiny_a-1.0-py3-none-any.whl") == "tiny_a-1.0-py3-none-any.whl"


def test_push_then_pull_round_trip_through_the_b2_guarded_client(s3_storage, source, tmp_path):
    heads = count_calls(s3_storage, "HeadObject")
    pushed = s3sync.push(s3_storage, source, "wheels")
    assert (pushed.transferred, pushed.up_to_date, pushed.failed) == (3, 0, 0)
    assert sorted(s3_storage.list_keys("wheels/")) == [
        "wheels/flash_attn-2.8.3_u002b_cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl",
        "wheels/sub/tiny_b-1.0-py3-none-any.whl",
        "wheels/tiny_a-1.0-py3-none-any.whl",
    ]
    again = s3sync.push(s3_storage, source, "wheels/")
    assert (again.transferred, again.up_to_date) == (0, 3)

    dest = tmp_path / "restored"
    pulled = s3sync.pull(s3_storage, "wheels/", dest)
    assert (pulled.transferred, pulled.up_to_date, pulled.failed, pulled.bytes) == (3, 0, 0, 160)
    assert (dest / FLASH).read_bytes() == b"f" * 10
    assert (dest / "sub" / "tiny_b-1.0-py3-none-any.whl").read_bytes() == b"b" * 50
    assert not list(dest.rglob(".tmp-*"))
    assert heads == []  # sizes come from one listing, not one request per object

    (dest / "tiny_a-1.0-py3-none-any.whl").write_bytes(b"truncated")
    repaired = s3sync.pull(s3_storage, "wheels", dest)
    assert (repaired.transferred, repaired.up_to_date) == (1, 2)
    assert (dest / "tiny_a-1.0-py3-none-any.whl").read_bytes() == b"a" * 100


def test_changed_size_is_uploaded_again(s3_storage, source):
    s3sync.push(s3_storage, source, "wheels/")
    (source / "tiny_a-1.0-py3-none-any.whl").write_bytes(b"a" * 101)
    result = s3sync.push(s3_storage, source, "wheels/")
    assert (result.transferred, result.up_to_date) == (1, 2)
    assert s3_storage.size("wheels/tiny_a-1.0-py3-none-any.whl") == 101


def test_pull_include_filters_by_file_name(s3_storage, source, tmp_path):
    s3sync.push(s3_storage, source, "wheels/")
    dest = tmp_path / "only"
    result = s3sync.pull(s3_storage, "wheels/", dest, include=["TINY_[a]-1.0-*.whl", "flash_attn-2.8.3+*"])
    assert result.transferred == 2
    assert sorted(path.name for path in dest.rglob("*") if path.is_file()) == [FLASH, "tiny_a-1.0-py3-none-any.whl"]


def test_pull_refuses_keys_that_decode_out_of_the_folder(s3_storage, tmp_path):
    s3_storage.put_bytes("wheels/_u002f_etc_u002f_passwd", b"x")
    s3_storage.put_bytes("wheels/fine.whl", b"y")
    result = s3sync.pull(s3_storage, "wheels/", tmp_path / "dest")
    assert (result.transferred, result.failed) == (1, 1)
    assert not result.ok
    assert [path.name for path in (tmp_path / "dest").iterdir()] == ["fine.whl"]


def test_works_with_local_storage_too(tmp_path, source):
    storage = LocalStorage(tmp_path / "storage")
    assert s3sync.push(storage, source, "wheels/").transferred == 3
    result = s3sync.pull(storage, "wheels/", tmp_path / "back")
    assert (result.transferred, result.failed) == (3, 0)
    assert (tmp_path / "back" / FLASH).is_file()


def cli_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "s3sync.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )


def test_cli_push_and_pull_with_one_summary_line(moto_endpoint, bucket, source, tmp_path):
    env = cli_env(**s3_env(moto_endpoint, bucket))
    pushed = run_cli("push", str(source), "wheels/", env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.count("\n") == 1
    assert pushed.stdout.startswith("s3sync push: 3 uploaded") and f"s3 {bucket}" in pushed.stdout

    dest = tmp_path / "dest"
    pulled = run_cli("pull", "wheels/", str(dest), "--include", "tiny_*", env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.startswith("s3sync pull: 2 downloaded") and "0 failed" in pulled.stdout
    again = run_cli("pull", "wheels/", str(dest), env=env)
    assert again.stdout.startswith("s3sync pull: 1 downloaded") and "2 up to date" in again.stdout
    for result in (pushed, pulled, again):
        assert TEST_SECRET_KEY not in result.stdout + result.stderr


def test_cli_fails_with_exit_1_and_no_secret(moto_endpoint, source):
    env = cli_env(**s3_env(moto_endpoint, "no-such-bucket"))
    result = run_cli("push", str(source), "wheels/", env=env)
    assert result.returncode == 1
    assert "NoSuchBucket" in result.stderr
    assert TEST_SECRET_KEY not in result.stdout + result.stderr

    half = cli_env(**{**s3_env(moto_endpoint, "b"), "AWS_SECRET_ACCESS_KEY": ""})
    result = run_cli("pull", "wheels/", "/tmp/unused", env=half)
    assert result.returncode == 1
    assert "missing: AWS_SECRET_ACCESS_KEY" in result.stderr


def test_cli_help():
    result = run_cli("--help", env=cli_env())
    assert result.returncode == 0
    assert "pull" in result.stdout and "push" in result.stdout
