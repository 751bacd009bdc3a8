"""A job's files on the caller's disk: from a presigned URL, inline base64/text, or the download endpoint."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from ._errors import ClientError

log = logging.getLogger("f5worker.client")

TIMING_FILES = ("srt", "vtt", "ass", "csv", "json")  # the worker's TIMING_FORMATS (a test keeps them equal)


def encode_file(path: str | os.PathLike) -> str:
    """A local file as the base64 text the worker accepts for ``audio`` / ``ref_audio``."""
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def stream_audio(items: list[Mapping]) -> bytes:
    """The raw PCM of chunk items, in ``seq`` order (16-bit little-endian mono at each item's ``sample_rate``)."""
    return b"".join(base64.b64decode(item["audio"]) for item in sorted(items, key=lambda item: item["seq"]))


def _write_atomic(path: Path, data: bytes | None = None, chunks: Any = None) -> Path:
    """Write to a temp name in the same folder, then rename over ``path``: readers never see half a file.

    The temp file is created with mode 0666 less the umask, like any file the caller writes
    (``mkstemp`` would leave 0600); ``O_EXCL`` with a random name keeps it private to this call.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_name = str(path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            if data is not None:
                handle.write(data)
            for chunk in chunks or ():
                handle.write(chunk)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    return path


class OutputFiles:
    """Saving outputs, for a client that also has ``download`` (the endpoint), ``files_session`` and ``timeout``."""

    def save_outputs(self, output: Mapping, out_dir: str | os.PathLike, download: bool = True) -> dict[str, Path]:
        """Save the audio and every timing file of a tts/stt output (or a ``result`` record) in ``out_dir``.

        Each file comes from its presigned ``url``, its inline ``base64`` / ``text``, or, when neither
        is there (or the URL has expired) and ``download`` is true, from the ``download`` endpoint.
        Files are written under a temp name and renamed. Returns ``{"audio" | format: path}``.
        """
        if "output" in output and "endpoint" in output:  # a result record
            output = output["output"]
        job_id = output.get("job_id")
        entries: dict[str, Mapping] = {}
        if isinstance(output.get("audio"), Mapping):
            entries["audio"] = output["audio"]
        timings = output.get("timings")
        files = timings.get("files") if isinstance(timings, Mapping) else output.get("files")
        for fmt, entry in (files or {}).items():
            entries[fmt] = entry
        out = Path(out_dir)
        saved: dict[str, Path] = {}
        for name, entry in entries.items():
            target = out / self._file_name(name, entry)
            saved[name] = self._save_entry(name, entry, target, job_id, download)
        return saved

    @staticmethod
    def _file_name(name: str, entry: Mapping) -> str:
        key = entry.get("key")
        if isinstance(key, str) and "/" in key:
            return key.rsplit("/", 1)[-1]
        if name == "audio":
            return f"audio.{entry.get('format', 'wav')}"
        return f"timings.{name}"

    def save_download(self, entry: Mapping, out_dir: str | os.PathLike) -> Path:
        """Save the file of one ``download`` output (url, base64 or text) in ``out_dir``."""
        name = str(entry.get("file") or "file")
        target = Path(out_dir) / self._file_name(name, entry)
        return self._save_entry(name, entry, target, entry.get("job_id"), download=True)

    def _save_entry(self, name: str, entry: Mapping, target: Path, job_id: Any, download: bool) -> Path:
        if isinstance(entry.get("base64"), str):
            return _write_atomic(target, base64.b64decode(entry["base64"]))
        if isinstance(entry.get("text"), str):
            return _write_atomic(target, entry["text"].encode("utf-8"))
        url_error = None
        if isinstance(entry.get("url"), str):
            try:
                return self._fetch_url(entry["url"], target)
            except ClientError as exc:
                if not (download and job_id):
                    raise
                url_error = exc
                log.info("%s: URL failed (%s); asking the download endpoint", name, exc)
        if not (download and job_id):
            raise ClientError(f"{name}: the output carries no url, base64 or text; use download=True")
        # A fresh presigned URL when the old one failed; otherwise the bytes inline.
        delivery = None if url_error else ("text" if name in TIMING_FILES else "base64")
        fresh = self.download(str(job_id), name, delivery)
        return self._save_entry(name, fresh, target, job_id, download=False)

    def _fetch_url(self, url: str, target: Path) -> Path:
        shown = url.split("?", 1)[0]  # the query holds the signature
        try:
            with self.files_session.get(url, stream=True, timeout=self.timeout) as response:
                if not response.ok:
                    raise ClientError(f"GET {shown}: HTTP {response.status_code}", response.status_code)
                return _write_atomic(target, chunks=response.iter_content(chunk_size=1 << 16))
        except requests.RequestException as exc:
            raise ClientError(f"GET {shown}: {type(exc).__name__}") from None
