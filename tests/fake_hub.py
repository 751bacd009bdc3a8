"""A stand-in for the Hugging Face Hub on 127.0.0.1, for the worker's first-deploy download path.

It serves model repositories from a local folder (``<root>/<owner>/<name>/<file>``) under their real ids
and answers only what huggingface_hub 0.36 asks for (read from ``file_download.py`` and
``_snapshot_download.py``), with ``HF_ENDPOINT`` pointing at it:

- ``GET /api/models/<repo>/revision/<rev>``: repo info, ``{"id", "sha", "siblings": [{"rfilename"}]}``
  (``snapshot_download`` lists the files and pins the commit with it);
- ``HEAD /<repo>/resolve/<rev>/<file>``: the metadata ``hf_hub_download`` reads: ``X-Repo-Commit``,
  ``ETag`` (the git blob sha1 of a small file) or, for LFS-sized files, ``X-Linked-Etag`` (sha256 of the
  content) and ``X-Linked-Size``, plus ``Content-Length``;
- ``GET`` of the same URL: the bytes, honouring ``Range: bytes=N-`` (206) as a resumed download sends it.

Every request is recorded (method, path, range, status, body bytes sent). Faults for one file on demand:
``404``, ``500``, ``truncate`` (the body stops halfway on every GET), ``truncate-once`` (only the first
GET; the next one is whole), ``stall-once`` (the first GET sends half, then nothing for ``stall_s``: a
read timeout, after which huggingface_hub resumes with a ranged GET) and ``wrong-etag`` (an ETag that
matches no content).
Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"  # one fake commit for every repo
LFS_MIN_BYTES = 10 * 1024  # the hub stores big files (weights) in LFS: their ETag is a sha256
FAULTS = ("404", "500", "truncate", "truncate-once", "stall-once", "wrong-etag")


@dataclass(frozen=True)
class HubRequest:
    method: str
    path: str
    range: str | None
    status: int
    sent: int  # body bytes written


def file_key(path: str) -> str:
    """``/<owner>/<name>/resolve/<revision>/<file>`` -> ``<owner>/<name>/<file>``."""
    parts = path.strip("/").split("/")
    return "/".join(parts[:2] + parts[4:])


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """Serves ``root``; use as a context manager. ``faults[(repo, file)] = "404" | ...`` injects one."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.faults: dict[tuple[str, str], str] = {}
        self.requests: list[HubRequest] = []
        self._lock = threading.Lock()
        self._truncated_once: set[tuple[str, str]] = set()
        self.stall_s = 3.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)
        self._running = False

    def start(self) -> FakeHub:
        self._thread.start()
        self._running = True
        return self

    def close(self) -> None:
        if self._running:
            self._server.shutdown()
            self._running = False
        self._server.server_close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ what happened

    def record(self, request: HubRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def log(self) -> list[HubRequest]:
        with self._lock:
            return list(self.requests)

    def downloads(self) -> dict[str, int]:
        """Successful file GETs (200/206) per ``<repo>/<file>``, whatever revision the URL named."""
        counts: dict[str, int] = {}
        for request in self.log():
            if request.method == "GET" and "/resolve/" in request.path and request.status in (200, 206):
                key = file_key(request.path)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def bytes_sent(self) -> int:
        return sum(request.sent for request in self.log())

    # ------------------------------------------------------------------ the repositories

    def repo_files(self, repo: str) -> list[str]:
        folder = self.root / repo
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def file_headers(self, repo: str, filename: str, data: bytes) -> dict[str, str]:
        headers = {"X-Repo-Commit": COMMIT, "Content-Length": str(len(data)), "Accept-Ranges": "bytes"}
        if len(data) >= LFS_MIN_BYTES:
            etag = hashlib.sha256(data).hexdigest()
            headers.update(
                {
                    "X-Linked-Etag": f'"{etag}"',
                    "X-Linked-Size": str(len(data)),
                    "ETag": f'"{git_blob_sha1(etag.encode())}"',
                }
            )
        else:
            headers["ETag"] = f'"{git_blob_sha1(data)}"'
        if self.faults.get((repo, filename)) == "wrong-etag":
            for name in ("ETag", "X-Linked-Etag"):
                if name in headers:
                    wrong = hashlib.sha256(b"not the content" + data[:16]).hexdigest()
                    headers[name] = f'"{wrong if len(headers[name]) == 66 else wrong[:40]}"'
        return headers

    def _handler_class(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - the base class's signature
                pass

            def _send(
                self,
                status: int,
                headers: dict[str, str],
                body: bytes = b"",
                head: bool = False,
                cut: int | None = None,
                stall: bool = False,
            ) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                if cut is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                sent = 0
                if not head:
                    payload = body if cut is None else body[:cut]
                    self.wfile.write(payload)
                    sent = len(payload)
                    if stall:
                        self.wfile.flush()
                        time.sleep(hub.stall_s)
                hub.record(
                    HubRequest(
                        self.command, urllib.parse.urlsplit(self.path).path, self.headers.get("Range"), status, sent
                    )
                )

            def _json(self, status: int, payload: object, head: bool = False) -> None:
                body = json.dumps(payload).encode()
                self._send(status, {"Content-Type": "application/json", "Content-Length": str(len(body))}, body, head)

            def _error(self, status: int, message: str, head: bool, extra: dict | None = None) -> None:
                body = json.dumps({"error": message}).encode()
                headers = {
                    "Content-Type": "application/json",
                    "Content-Length": str(len(body)),
                    "X-Error-Message": message,
                    **(extra or {}),
                }
                self._send(status, headers, body, head)

            def _route(self, head: bool) -> None:
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                parts = path.strip("/").split("/")
                if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
                    repo = "/".join(parts[2:4])
                    files = hub.repo_files(repo)
                    if not files:
                        return self._error(404, "Repository not found", head, {"X-Error-Code": "RepoNotFound"})
                    return self._json(
                        200,
                        {
                            "id": repo,
                            "modelId": repo,
                            "sha": COMMIT,
                            "private": False,
                            "siblings": [{"rfilename": name} for name in files],
                        },
                        head,
                    )
                if len(parts) >= 5 and parts[2] == "resolve":
                    repo, filename = "/".join(parts[:2]), "/".join(parts[4:])
                    return self._file(repo, filename, head)
                return self._error(404, f"not served by the fake hub: {path}", head)

            def _file(self, repo: str, filename: str, head: bool) -> None:
                fault = hub.faults.get((repo, filename))
                source = hub.root / repo / filename
                if fault == "404" or not source.is_file():
                    return self._error(
                        404, "Entry not found", head, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT}
                    )
                if fault == "500":
                    return self._error(500, "Internal Error (injected by the fake hub)", head)
                data = source.read_bytes()
                headers = hub.file_headers(repo, filename, data)
                if head:
                    return self._send(200, headers, head=True)
                start = 0
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes=") and wanted[6:].endswith("-"):
                    start = int(wanted[6:-1])
                status = 206 if start else 200
                body = data[start:]
                headers["Content-Length"] = str(len(body))
                if start:
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                cut = None
                once = fault in ("truncate-once", "stall-once") and (repo, filename) not in hub._truncated_once
                if fault == "truncate" or once:
                    hub._truncated_once.add((repo, filename))
                    cut = len(body) // 2
                return self._send(status, headers, body, cut=cut, stall=once and fault == "stall-once")

            def do_GET(self):
                self._route(head=False)

            def do_HEAD(self):
                self._route(head=True)

        return Handler


def populate(root: Path, tiny_models: dict[str, str], whisper_dir: Path, whisper_names=("large-v3",)) -> Path:
    """The tiny test models under the real repository ids and file names the worker asks for by default."""
    import shutil

    f5 = root / "SWivid" / "F5-TTS" / "F5TTS_v1_Base"
    f5.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_models["F5_CKPT_FILE"], f5 / "model_1250000.safetensors")
    shutil.copy(tiny_models["F5_VOCAB_FILE"], f5 / "vocab.txt")
    vocos = root / "charactr" / "vocos-mel-24khz"
    vocos.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "pytorch_model.bin"):
        shutil.copy(Path(tiny_models["F5_VOCODER_PATH"]) / name, vocos / name)
    for name in whisper_names:
        shutil.copytree(whisper_dir, root / "Systran" / f"faster-whisper-{name}", dirs_exist_ok=True)
    if "ALIGN_MODEL" in tiny_models:  # the default ALIGN_MODEL's repository (English wav2vec2)
        shutil.copytree(tiny_models["ALIGN_MODEL"], root / "facebook" / "wav2vec2-base-960h", dirs_exist_ok=True)
    return root
