"""The CLI's HTTP client: server and key from flags, the environment, or the local data dir."""

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from loopctl.database.embedded import LOCAL_KEY
from loopctl.platform.config import default_data_dir

DEFAULT_SERVER = "http://127.0.0.1:4000"
KEY_VARIABLES = ("LOOPCTL_API_KEY", "LOOPCTL_USER_KEY", "LOOPCTL_ORCH_KEY", "LOOPCTL_AGENT_KEY")


class ClientError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(error.get("message") or f"HTTP {status}")
        self.code = error.get("code", "http_error")


def server_url(explicit: str | None) -> str:
    return (explicit or os.environ.get("LOOPCTL_SERVER") or DEFAULT_SERVER).rstrip("/")


def _is_local(server: str) -> bool:
    return urlparse(server).hostname in {"127.0.0.1", "localhost", "::1"}


def api_key(explicit: str | None, server: str) -> str | None:
    """--key, then LOOPCTL_API_KEY and the role variables, then the local server's saved key."""
    if explicit:
        return explicit
    for name in KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    if _is_local(server):
        data_dir = Path(os.environ.get("LOOPCTL_DATA_DIR") or default_data_dir())
        saved = data_dir / LOCAL_KEY
        if saved.exists():
            return saved.read_text().strip()
    return None


class Client:
    def __init__(
        self, server: str, key: str | None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            base_url=server, headers=headers, timeout=30.0, transport=transport
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        body = response.json() if response.content else None
        if response.is_error:
            raise ClientError(response.status_code, body)
        return body

    def close(self) -> None:
        self._http.close()
