"""HTTP to the RunPod API: configuration from the environment, retries, the key kept out of every message."""

from __future__ import annotations

import logging
import os
from typing import Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ._errors import ClientError

log = logging.getLogger("f5worker.client")

HOSTED_API = "https://api.runpod.ai/v2"
RETRY_STATUSES = (429, 500, 502, 503, 504)
_USER_AGENT = "f5worker-client/0.1"


class Transport:
    """HTTP to one endpoint: its URL and key, two sessions (the API; presigned storage URLs, without the
    key), JSON answers. The arguments are documented on :class:`f5worker.client.RunPodClient`."""

    def __init__(
        self,
        endpoint_id: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 300.0,
        *,
        local: bool | None = None,
        wait_timeout: float = 3600.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 10.0,
        retries: int | Retry = 3,
        backoff_factor: float = 0.5,
    ):
        endpoint_id = endpoint_id or os.environ.get("RUNPOD_ENDPOINT_ID") or None
        api_key = api_key or os.environ.get("RUNPOD_API_KEY") or None
        base_url = base_url or os.environ.get("RUNPOD_BASE_URL") or None
        if base_url is None:
            if not endpoint_id:
                raise ValueError("no endpoint: give endpoint_id (RUNPOD_ENDPOINT_ID) or base_url (RUNPOD_BASE_URL)")
            if not api_key:
                raise ValueError("RunPod's hosted API needs an API key: give api_key or set RUNPOD_API_KEY")
            base_url = f"{HOSTED_API}/{endpoint_id}"
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.local = local
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._api_key = api_key
        if not isinstance(retries, Retry):
            retries = Retry(
                total=retries,
                connect=retries,
                read=retries,
                status=retries,
                backoff_factor=backoff_factor,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=frozenset({"GET", "HEAD"}),
                raise_on_status=False,  # the last answer comes back and is reported below
            )
        self.session = self._session(retries, auth=True)
        self.files_session = self._session(retries, auth=False)  # presigned URLs get no RunPod key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, local={self.local!r})"

    def _session(self, retries: Retry, auth: bool) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=retries)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = _USER_AGENT
        if auth and self._api_key:
            session.headers["Authorization"] = f"Bearer {self._api_key}"
        return session

    def close(self) -> None:
        self.session.close()
        self.files_session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _request(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        log.debug("%s %s%s", method, self.base_url, path)
        try:
            response = self.session.request(method, self.base_url + path, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ClientError(f"{method} {path}: {type(exc).__name__}: {self._scrub(str(exc))}") from None
        return response

    def _json(self, method: str, path: str, response: requests.Response) -> dict:
        if response.status_code in (401, 403):
            raise ClientError(
                f"{method} {path}: HTTP {response.status_code}: not authorised (check RUNPOD_API_KEY)",
                response.status_code,
            )
        if not response.ok:
            detail = self._scrub(response.text[:300].strip())
            raise ClientError(f"{method} {path}: HTTP {response.status_code}: {detail}", response.status_code)
        try:
            data = response.json()
        except ValueError:
            raise ClientError(f"{method} {path}: answer is not JSON", response.status_code) from None
        if not isinstance(data, dict):
            raise ClientError(f"{method} {path}: expected a JSON object", response.status_code)
        return data

    def _call_api(self, method: str, path: str, body: dict | None = None) -> dict:
        return self._json(method, path, self._request(method, path, body))

    def _get_or_post(self, path: str) -> dict:
        """GET on RunPod; POST on the SDK's local API, which answers GET with 405 (and runs the queued job
        on POST). ``local=None`` tries GET and switches to POST for good on a 405."""
        if self.local:
            return self._call_api("POST", path)
        response = self._request("GET", path)
        if response.status_code == 405 and self.local is None:
            log.debug("GET %s answered 405: the SDK's local API, switching to POST", path)
            self.local = True
            return self._call_api("POST", path)
        return self._json("GET", path, response)
