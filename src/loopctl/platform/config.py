"""Settings, read from the environment with the prefix ``LOOPCTL_``.

Every field is documented in docs/operations.md; keep the two in step.
"""

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

VERSION = "0.1.0"


def default_data_dir() -> Path:
    # As root, the embedded PostgreSQL runs as a system user that must traverse to the data;
    # /root is closed to it, /var/lib is not (docs/operations.md).
    if os.geteuid() == 0:
        return Path("/var/lib/loopctl")
    return Path(platformdirs.user_data_dir("loopctl"))


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value may hold a password (a URL's credentials).
    model_config = SettingsConfigDict(
        env_prefix="LOOPCTL_", extra="ignore", hide_input_in_errors=True
    )

    # Database. With no database_url, `loopctl serve` runs the embedded PostgreSQL.
    database_url: SecretStr | None = None
    admin_database_url: SecretStr | None = None
    owner_database_url: SecretStr | None = None
    app_role: str = "loopctl_app"
    admin_role: str = "loopctl_admin"
    owner_role: str = "loopctl_owner"
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=16, ge=1)
    # Every statement of the app role; a cancelled one is a 503 query_timeout.
    statement_timeout_ms: int = Field(default=10_000, ge=0)
    # Heavy requests (graph, critical path, import, export) one tenant may run at once in
    # one process; 0: no cap (platform/heavy.py).
    heavy_requests_per_tenant: int = Field(default=2, ge=0)

    data_dir: Path = Field(default_factory=default_data_dir)
    # Keys are stored as HMAC-SHA256(secret_key, key). Changing it invalidates every key.
    secret_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    # The base URL clients use (scheme, host, optional path prefix); without it, links and
    # redirects are built from the request's Host header and never cached publicly.
    public_url: str | None = None
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    allow_signup: bool = True
    signups_per_ip_per_hour: int = Field(default=5, ge=0)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_ip_per_minute: int = Field(default=1200, ge=1)
    auth_failures_per_ip_per_minute: int = Field(default=20, ge=1)
    rate_limit_sync_seconds: float = Field(default=1.0, gt=0)
    last_used_flush_seconds: float = Field(default=10.0, gt=0)

    max_api_keys: int = Field(default=100, ge=1)
    max_projects: int = Field(default=500, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_import_bytes: int = Field(default=10_485_760, ge=1024)
    # The JSON of one orchestrator checkpoint's state_data (a 413 beyond it).
    max_state_bytes: int = Field(default=262_144, ge=1024)

    log_level: str = "INFO"
    access_log: bool = True
    # FastAPI's native OpenTelemetry instrumentation. Off unless asked for: when on, every
    # request first asks OpenTelemetry whether a provider is configured (docs/operations.md).
    opentelemetry: bool = False
    # Serve the simplest routes without FastAPI's dependency solver (kit/direct.py). False
    # hands every route to FastAPI: the same answers, more CPU; the suite runs both ways.
    direct_routes: bool = True

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_url", mode="after")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number in range)
        except ValueError:
            raise ValueError("has an invalid port") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or a fragment")
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")

    @property
    def embedded(self) -> bool:
        return self.database_url is None
