import pytest

from f5worker.errors import ConfigError
from f5worker.settings import load_settings
from tests.helpers import TEST_SECRET_KEY


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (
        "AWS_S3_BUCKET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_REGION",
        "STORAGE_DIR",
        "PRESIGN_EXPIRY_S",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_to_local_storage_without_credentials():
    settings = load_settings()
    assert settings.storage_backend == "local"
    assert settings.presign_expiry_s == 86400


def test_full_s3_configuration_from_environment(monkeypatch):
    monkeypatch.setenv("AWS_S3_BUCKET", "voices")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://s3.us-west-004.backblazeb2.com")
    settings = load_settings()
    assert settings.storage_backend == "s3"
    assert settings.s3_region == "us-west-004"  # derived from the B2 endpoint
    assert TEST_SECRET_KEY not in repr(settings)


def test_explicit_region_wins_and_non_b2_endpoint_defaults(monkeypatch):
    assert (
        load_settings(aws_endpoint_url="https://s3.eu-central-003.backblazeb2.com", aws_default_region="eu-x").s3_region
        == "eu-x"
    )
    assert load_settings(aws_endpoint_url="http://127.0.0.1:9000").s3_region == "us-east-1"


@pytest.mark.parametrize(
    "present", [("AWS_S3_BUCKET",), ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_SECRET_ACCESS_KEY",)]
)
def test_half_configured_s3_is_a_startup_error_naming_what_is_missing(monkeypatch, present):
    for name in present:
        monkeypatch.setenv(name, TEST_SECRET_KEY)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "half-configured" in message
    for name in {"AWS_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} - set(present):
        assert name in message.split("missing:")[1]
    assert TEST_SECRET_KEY not in message


def test_empty_variables_count_as_unset(monkeypatch):
    monkeypatch.setenv("AWS_S3_BUCKET", "")
    assert load_settings().storage_backend == "local"


def test_presigned_urls_are_capped_at_seven_days(monkeypatch):
    monkeypatch.setenv("PRESIGN_EXPIRY_S", str(7 * 24 * 3600 + 1))
    with pytest.raises(ConfigError, match="PRESIGN_EXPIRY_S"):
        load_settings()


def test_timing_engines_are_parsed_once_into_a_list_of_known_names(monkeypatch):
    monkeypatch.setenv("TIMING_ENGINES", " google, ,whisperx,google")
    assert load_settings().timing_engines == ["google", "whisperx"]
    monkeypatch.setenv("TIMING_ENGINES", "whisper,google")
    with pytest.raises(ConfigError, match=r"TIMING_ENGINES: Input should be 'whisperx' or 'google'"):
        load_settings()
