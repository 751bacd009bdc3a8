"""Atomic local writes: whole files or nothing under the final name, and no temp files left behind."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from f5worker.files import TEMP_PREFIX, atomic_copy, atomic_write, create_exclusive, sha256_file


def test_atomic_write_makes_the_folder_and_replaces_the_file(tmp_path):
    dest = tmp_path / "a" / "b" / "file.bin"
    atomic_write(dest, b"first")
    atomic_write(dest, b"second")
    assert dest.read_bytes() == b"second"
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]


def test_a_failed_copy_leaves_the_old_file_and_no_temp(tmp_path):
    dest = tmp_path / "file.bin"
    atomic_write(dest, b"old")
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "missing", dest)
    assert dest.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_copy_is_byte_exact(tmp_path):
    src = tmp_path / "src"
    src.write_bytes(bytes(range(256)) * 10)
    atomic_copy(src, tmp_path / "out" / "dest")
    assert (tmp_path / "out" / "dest").read_bytes() == src.read_bytes()


def test_create_exclusive_lets_exactly_one_racing_writer_win(tmp_path):
    dest = tmp_path / "claim"
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda n: create_exclusive(dest, f"writer {n}".encode()), range(16)))
    assert won.count(True) == 1
    assert dest.read_bytes() == f"writer {won.index(True)}".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["claim"]


def test_sha256_file_reads_past_one_block(tmp_path):
    data = b"x" * ((1 << 20) + 7)
    path = tmp_path / "big"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
