"""Both backends through the same interface; S3 is moto's real server over HTTP, guarded like B2."""

import time
import urllib.parse

import pytest
import requests
from boto3.s3.transfer import TransferConfig

from f5worker.errors import NotFound, StorageError
from f5worker.settings import Settings
from f5worker.storage import LocalStorage, open_storage
from f5worker.storage.layout import check_key
from f5worker.storage.s3 import S3Storage
from tests.helpers import TEST_SECRET_KEY, free_port


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "root")
    return request.getfixturevalue("s3_storage")


def test_round_trip_size_list_delete(storage):
    storage.put_bytes("outputs/j1/timings.srt", b"1\n", content_type="application/x-subrip")
    storage.put_bytes("outputs/j1/audio.wav", b"RIFF....")
    storage.put_bytes("outputs/j10/audio.wav", b"other job")
    assert storage.get_bytes("outputs/j1/timings.srt") == b"1\n"
    assert storage.size("outputs/j1/audio.wav") == 8
    assert storage.exists("outputs/j1/audio.wav")
    assert storage.list_keys("outputs/j1/") == ["outputs/j1/audio.wav", "outputs/j1/timings.srt"]
    storage.delete("outputs/j1/audio.wav")
    assert not storage.exists("outputs/j1/audio.wav")
    assert storage.list_keys("voices/") == []


def test_missing_key_is_not_found(storage):
    with pytest.raises(NotFound):
        storage.get_bytes("results/nope.json")
    with pytest.raises(NotFound):
        storage.size("results/nope.json")


def test_download_file_is_atomic_and_leaves_nothing_on_failure(storage, tmp_path):
    storage.put_bytes("voices/a.wav", b"abc" * 1000)
    dest = tmp_path / "cache" / "a.wav"
    storage.download_file("voices/a.wav", dest)
    assert dest.read_bytes() == b"abc" * 1000
    with pytest.raises(NotFound):
        storage.download_file("voices/missing.wav", tmp_path / "cache" / "missing.wav")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["a.wav"]


def test_put_file_and_overwrite(storage, tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"first")
    storage.put_file("models/x/w.bin", source)
    source.write_bytes(b"second version")
    storage.put_file("models/x/w.bin", source)
    assert storage.get_bytes("models/x/w.bin") == b"second version"


def test_traversal_keys_never_reach_the_backend(storage):
    with pytest.raises(ValueError):
        storage.get_bytes("../secrets")


def test_local_list_ignores_temp_files(tmp_path):
    storage = LocalStorage(tmp_path)
    (tmp_path / "outputs" / "j").mkdir(parents=True)
    (tmp_path / "outputs" / "j" / ".tmp-half").write_bytes(b"partial")
    assert storage.list_keys("outputs/") == []


def test_local_storage_has_no_urls(tmp_path):
    assert LocalStorage(tmp_path).presigned_url("outputs/j/audio.wav") is None


def test_s3_client_is_configured_for_backblaze(s3_storage):
    config = s3_storage.client.meta.config
    assert config.signature_version == "s3v4"
    assert config.region_name == "us-west-004"
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    assert config.retries["mode"] == "standard"


def test_presigned_url_is_sigv4_and_fetchable_over_http(s3_storage):
    s3_storage.put_bytes("outputs/j/timings.vtt", b"WEBVTT\n\n", content_type="text/vtt")
    url = s3_storage.presigned_url("outputs/j/timings.vtt")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["86400"]
    assert "us-west-004" in query["X-Amz-Credential"][0]
    assert TEST_SECRET_KEY not in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"WEBVTT\n\n"


def test_multipart_upload_completes_without_b2_incompatible_headers(s3_storage, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "f5worker.storage.s3.TRANSFER",
        TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024),
    )
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (11 * 1024 * 4))  # 11 MiB: three parts
    s3_storage.put_file("models/big/w.bin", big)
    assert s3_storage.size("models/big/w.bin") == big.stat().st_size
    restored = tmp_path / "restored.bin"
    s3_storage.download_file("models/big/w.bin", restored)
    assert restored.read_bytes() == big.read_bytes()


def test_unreachable_s3_is_a_bounded_storage_error(tmp_path):
    settings = Settings(
        aws_s3_bucket="b",
        aws_access_key_id="k",
        aws_secret_access_key=TEST_SECRET_KEY,
        aws_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_connect_timeout_s=1,
        s3_read_timeout_s=1,
        s3_max_attempts=2,
    )
    storage = open_storage(settings)
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        storage.get_bytes("results/j.json")
    assert time.monotonic() - started < 15
    assert "GetObject" in str(info.value) and TEST_SECRET_KEY not in str(info.value)


def test_s3_forbidden_is_a_storage_error_not_a_crash(s3_settings):
    storage = S3Storage(s3_settings.model_copy(update={"aws_s3_bucket": "no-such-bucket-here"}))
    with pytest.raises(StorageError, match="NoSuchBucket"):
        storage.put_bytes("results/j.json", b"{}")


def test_the_b2_guard_catches_a_default_boto3_client(moto_endpoint, bucket):
    """Negative control: without ``when_required`` boto3 adds checksum headers, and the guard must see them."""
    from tests.helpers import direct_s3_client, guard_b2

    client = direct_s3_client(moto_endpoint, region="us-east-1")
    guard_b2(client)
    with pytest.raises(AssertionError, match="Backblaze B2 rejects"):
        client.put_object(Bucket=bucket, Key="x", Body=b"data")


def test_fingerprint_changes_when_the_object_does(storage):
    storage.put_bytes("voices/v.wav", b"one")
    first = storage.fingerprint("voices/v.wav")
    assert storage.fingerprint("voices/v.wav") == first
    storage.put_bytes("voices/v.wav", b"two")
    assert storage.fingerprint("voices/v.wav") != first
    with pytest.raises(NotFound):
        storage.fingerprint("voices/none.wav")


def test_create_exclusive_writes_once(storage):
    assert storage.create_exclusive("models/m/.lock", b"first") is True
    assert storage.create_exclusive("models/m/.lock", b"second") is False
    assert storage.get_bytes("models/m/.lock") == b"first"


def test_local_links_out_of_the_root_are_never_listed_or_served(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    storage = LocalStorage(tmp_path / "root")
    (storage.root / "voices").mkdir()
    (storage.root / "voices/evil.wav").symlink_to(outside)
    (storage.root / "voices/dir").symlink_to(tmp_path, target_is_directory=True)
    (storage.root / "results").mkdir()
    (storage.root / "results/job.json").symlink_to(outside)
    storage.put_bytes("voices/good.wav", b"RIFF")
    assert storage.list_keys("voices/") == ["voices/good.wav"]
    (storage.root / "results/loop.json").symlink_to(storage.root / "results/loop.json")
    assert storage.list_keys("results/") == []
    for read in (storage.get_bytes, storage.size, storage.exists, storage.fingerprint):
        with pytest.raises(StorageError, match=r"^results/job.json leads outside the storage folder"):
            read("results/job.json")
        with pytest.raises(StorageError, match=r"^results/loop.json is a symbolic link that leads nowhere"):
            read("results/loop.json")


def test_local_file_names_ending_in_a_newline_are_listed_as_they_are_but_never_valid_keys(tmp_path):
    storage = LocalStorage(tmp_path / "root")
    (storage.root / "voices").mkdir()
    (storage.root / "voices/x.wav\n").write_bytes(b"RIFF")
    (storage.root / "voices/y\n.wav").write_bytes(b"RIFF")
    assert storage.list_keys("voices/") == ["voices/x.wav\n", "voices/y\n.wav"]
    for key in storage.list_keys("voices/"):
        with pytest.raises(ValueError, match="unsafe storage key"):
            check_key(key)
