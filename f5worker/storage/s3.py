"""S3 storage that Backblaze B2 accepts (see PLATFORM-NOTES: SigV4, no checksum headers, no tagging)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import NotFound, StorageError
from ..settings import Settings
from .layout import check_key

MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
# Multipart above 64 MiB, 8 parallel parts: large model files restore quickly, small outputs stay one PUT.
TRANSFER = TransferConfig(multipart_threshold=64 * 1024 * 1024, multipart_chunksize=64 * 1024 * 1024, max_concurrency=8)


def make_s3_client(settings: Settings):
    """A client B2 accepts: SigV4 with an explicit region and integrity headers only when required."""
    region = settings.s3_region
    config = Config(
        signature_version="s3v4",
        region_name=region,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": settings.s3_max_attempts},
        connect_timeout=settings.s3_connect_timeout_s,
        read_timeout=settings.s3_read_timeout_s,
        s3={"addressing_style": "path"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.aws_endpoint_url,
        region_name=region,
        aws_access_key_id=settings.aws_access_key_id.get_secret_value(),
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        config=config,
    )


@contextlib.contextmanager
def s3_errors(operation: str, key: str):
    """Translate boto errors into the worker's codes; messages carry no credentials or signatures."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "unknown"))
        if code in MISSING_CODES:
            raise NotFound(f"{key} does not exist") from exc
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        raise StorageError(f"S3 {operation} of {key} failed: {code} (HTTP {status})") from exc
    except (BotoCoreError, Boto3Error) as exc:
        raise StorageError(f"S3 {operation} of {key} failed: {type(exc).__name__}") from exc


class S3Storage:
    backend = "s3"

    def __init__(self, settings: Settings, client=None):
        self.bucket = settings.aws_s3_bucket
        self.endpoint_url = settings.aws_endpoint_url
        self.region = settings.s3_region
        self.expiry_s = settings.presign_expiry_s
        self.client = client or make_s3_client(settings)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        with s3_errors("PutObject", check_key(key)):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)

    def create_exclusive(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        extra = {"ContentType": content_type} if content_type else {}
        try:
            with s3_errors("PutObject", check_key(key)):
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*", **extra)
        except StorageError as exc:
            if "PreconditionFailed" in exc.message or "ConditionalRequestConflict" in exc.message:
                return False
            raise
        return True

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        with s3_errors("upload", check_key(key)):
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=TRANSFER)

    def get_bytes(self, key: str) -> bytes:
        with s3_errors("GetObject", check_key(key)):
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read()

    def download_file(self, key: str, dest: Path) -> None:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        os.close(fd)
        try:
            with s3_errors("download", check_key(key)):
                self.client.download_file(self.bucket, key, tmp, Config=TRANSFER)
            os.replace(tmp, dest)
        except OSError as exc:  # the local disk, not S3: full, read-only, gone
            raise StorageError(f"writing {key} to local disk failed: {exc.strerror or exc}") from exc
        finally:
            Path(tmp).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        with s3_errors("HeadObject", check_key(key)):
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def fingerprint(self, key: str) -> str:
        with s3_errors("HeadObject", check_key(key)):
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        return f"{head['ContentLength']}-{head['ETag'].strip(chr(34))}"

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        with s3_errors("ListObjectsV2", prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        # Single DeleteObject: B2 rejects the checksum that DeleteObjects always sends.
        with s3_errors("DeleteObject", check_key(key)):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_listed(self, key: str) -> None:
        """Delete a key exactly as ``list_keys`` gave it, even one ``check_key`` refuses (an object put
        in the bucket by hand, such as ``voices/Bad Name.wav``)."""
        with s3_errors("DeleteObject", repr(key)):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def presigned_url(self, key: str) -> str:
        with s3_errors("presign", check_key(key)):
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.expiry_s
            )

    def describe(self) -> dict:
        return {"backend": self.backend, "bucket": self.bucket, "endpoint": self.endpoint_url, "region": self.region}

    def free_disk_bytes(self) -> int:
        return shutil.disk_usage(tempfile.gettempdir()).free
