"""scripts/stack.py, stack_stamp.py and stack_snapshot.py in-process: what the start tests only see from outside."""

from __future__ import annotations

import os
import sys

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "scripts"))
import stack  # noqa: E402
import stack_snapshot  # noqa: E402
import stack_stamp  # noqa: E402


def test_a_lock_as_uv_writes_it_is_read_pin_by_pin(tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "# header\nNumPy==2.4.6\n    # via x\nzope.interface==8.0 ; python_version >= '3'\n"
        "tiny_b==1.0\n--index-url https://example.invalid/simple\n"
    )
    assert stack.read_lock(lock) == ({"numpy": "2.4.6", "zope-interface": "8.0", "tiny-b": "1.0"}, {})


def test_a_lock_with_hashes_gives_each_pin_its_digests(tmp_path):
    """``uv pip compile --generate-hashes`` continues each entry over lines with ``\\``."""
    a, b, c = "a" * 64, "B" * 64, "c" * 64
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        f"# header\nNumPy==2.4.6 \\\n    --hash=sha256:{a} \\\n    --hash=sha256:{b}\n    # via x\n"
        f"zope.interface==8.0 ; python_version >= '3' \\\n    --hash=sha256:{c}\n"
    )
    pins, hashes = stack.read_lock(lock)
    assert pins == {"numpy": "2.4.6", "zope-interface": "8.0"}
    assert hashes == {"numpy": {a, b.lower()}, "zope-interface": {c}}
    assert stack.lock_lines(lock)[1] == (6, f"zope.interface==8.0 ; python_version >= '3' --hash=sha256:{c}")


def test_a_lock_that_hashes_some_pins_only_is_refused(tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"tiny-a==1.0 --hash=sha256:{'a' * 64}\ntiny-b==1.0\n")
    with pytest.raises(stack.InstallError) as caught:
        stack.read_lock(lock)
    assert caught.value.status == 2 and "tiny-b without a sha256 --hash" in str(caught.value)


@pytest.mark.parametrize("line", ["tiny-a>=1.0", "tiny-a", "tiny-a==1.*", "./local/path"])
def test_anything_not_pinned_is_refused(tmp_path, line):
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"tiny-b==1.0\n{line}\n")
    with pytest.raises(stack.InstallError) as caught:
        stack.read_pins(lock)
    assert caught.value.status == 2 and "line 2" in str(caught.value)


def test_the_stamp_follows_the_lock_and_the_flash_attn_url(tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text("tiny-a==1.0\n")
    first = stack_stamp.stamp_of(str(lock))
    assert first == stack_stamp.stamp_of(str(lock)) and len(first) == 20
    assert stack_stamp.stamp_of(str(lock), "https://example.invalid/flash.whl") != first
    lock.write_text("tiny-a==1.1\n")
    assert stack_stamp.stamp_of(str(lock)) != first


def test_wheel_tags_decide_whether_a_wheel_fits_this_python(tmp_path):
    tags = stack.supported_tags()
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert stack.wheel_fits(tmp_path / "six-1.17.0-py2.py3-none-any.whl", tags)
    assert not stack.wheel_fits(tmp_path / "x-1.0-cp27-cp27mu-manylinux1_x86_64.whl", tags)
    assert stack.wheel_fits(tmp_path / f"x-1.0-{tag}-{tag}-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", tags)
    assert stack.wheel_pin(tmp_path / "Tiny_A-1.0-py3-none-any.whl") == ("tiny-a", "1.0")


def test_bucket_globs_cover_every_spelling_of_a_name():
    patterns = stack.wheel_patterns({"pydantic-core": "2.50.4"})
    assert patterns == ["pydantic[-_.]core-2.50.4-*.whl", "pydantic[-_.]core-2.50.4-*.whl.sha256"]


def test_a_snapshot_round_trips_files_links_and_modes(tmp_path):
    folder = tmp_path / "stack"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "tool").write_text("#!/bin/sh\n")
    os.chmod(folder / "bin" / "tool", 0o755)
    (folder / "bin" / "python").symlink_to("/usr/bin/python3")  # a venv's link to its base interpreter
    (folder / "lib.txt").write_bytes(os.urandom(100_000))
    (folder / ".last-used").touch()
    archive = tmp_path / "stack.tar.zst"
    size, digest = stack_snapshot.pack(folder, archive)
    assert size == archive.stat().st_size and digest == stack.sha256_file(archive)
    out = tmp_path / "out"
    stack_snapshot.unpack(archive, out)
    assert (out / "lib.txt").read_bytes() == (folder / "lib.txt").read_bytes()
    assert os.readlink(out / "bin" / "python") == "/usr/bin/python3"
    assert os.access(out / "bin" / "tool", os.X_OK)
    assert not (out / ".last-used").exists()  # per volume, not part of the stack
