"""The one reader of stored records: absent is not_found, anything not what it should be is storage_error."""

import json
import re

import pytest
from pydantic import BaseModel

from f5worker.errors import NotFound, StorageError
from f5worker.storage.records import MAX_DEPTH, json_depth, read_stored_json, read_stored_text


class Record(BaseModel):
    name: str
    count: int


@pytest.fixture(params=["local_ctx", "s3_ctx"])
def storage(request):
    return request.getfixturevalue(request.param).storage


def test_a_valid_record_reads_back(storage):
    storage.put_bytes("results/r.json", json.dumps({"name": "a", "count": 2}).encode())
    assert read_stored_json(storage, "results/r.json", Record, "result", 1000) == Record(name="a", count=2)


def test_an_absent_record_is_not_found_naming_it(storage):
    with pytest.raises(NotFound, match=r"^no stored result \(results/none.json\)$"):
        read_stored_json(storage, "results/none.json", Record, "result", 1000)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"name": "a", "cou', "is not valid JSON"),  # cut off
        (b"\x00\x01garbage", "is not valid JSON"),
        (b"", "is not valid JSON"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b'{"name": "\xe9"}', "is not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper than"),  # past the parser's own recursion limit
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nests deeper than"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "nests deeper than"),
        (b"[1, 2]", "is not a valid record"),
        (b'{"name": 1, "count": 2}', "is not a valid record (name:"),
        (b'{"name": "a"}', "is not a valid record (count:"),
        (b"NaN", "is not valid JSON"),
        (b'{"name": "a", "count": Infinity}', "is not valid JSON"),
        (b'{"name": "a", "count": ' + b"9" * 5000 + b"}", "is not valid JSON"),  # past Python's digit limit
    ],
    ids=lambda value: value[:12].decode(errors="replace") if isinstance(value, bytes) else value,
)
def test_a_record_that_is_not_what_it_should_be_is_a_storage_error_naming_it(storage, body, reason):
    storage.put_bytes("results/bad.json", body)
    with pytest.raises(StorageError, match=rf"^stored result results/bad.json {re.escape(reason)}"):
        read_stored_json(storage, "results/bad.json", Record, "result", 10_000_000)


def test_an_oversized_record_is_refused_before_it_is_read(storage, monkeypatch):
    storage.put_bytes("results/big.json", b" " * 5000 + b"{}")
    monkeypatch.setattr(storage, "get_bytes", lambda key: pytest.fail("read despite its size"))
    with pytest.raises(StorageError, match=r"^stored result results/big.json is 5002 bytes, over the 1000-byte"):
        read_stored_json(storage, "results/big.json", Record, "result", 1000)


def test_text_drops_a_byte_order_mark_and_refuses_other_encodings(storage):
    storage.put_bytes("outputs/j/timings.srt", "\ufeffHéllo".encode())
    assert read_stored_text(storage, "outputs/j/timings.srt", "srt file", 100) == "Héllo"
    storage.put_bytes("outputs/j/timings.srt", "Héllo".encode("latin-1"))
    with pytest.raises(StorageError, match=r"^stored srt file outputs/j/timings.srt is not UTF-8 text \(byte 1\)$"):
        read_stored_text(storage, "outputs/j/timings.srt", "srt file", 100)


def test_depth_is_measured_without_recursion():
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert json_depth(deep) == 50_001 and json_depth({"a": [1, {"b": 2}]}) == 3 and json_depth(1) == 0
