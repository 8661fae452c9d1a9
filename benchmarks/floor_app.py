"""The floor: the least a server can do to answer ``GET /api/v1/tenants/me`` correctly.

A raw ASGI app (no FastAPI, no Starlette, no pydantic) under the same uvicorn settings as
``loopctl serve`` (uvloop, httptools, one worker, no access log). Per request it does the
work loopctl cannot skip: hash the bearer token with HMAC-SHA256 under the server secret,
then, in one transaction on a psycopg ``AsyncConnectionPool``,

1. look the key up by its hash,
2. ``select set_config('app.tenant_id', <tenant>, true)``,
3. select the tenant's row (row-level security in force),

and return the row as JSON. It connects as the **owner** role: the owner is the role whose
policy (``key_lookup_by_owner``) may read every key before a tenant is known, which is what
``loopctl_resolve_api_key`` does as a SECURITY DEFINER function; and unlike the admin role
it does not bypass row-level security, so statement 3 pays for the tenant policy as
loopctl's app role does.

Configuration comes from the environment (``auth_read.py`` sets it):
``FLOOR_DATABASE_URL`` (a libpq URL), ``FLOOR_SECRET_KEY`` (loopctl's server secret) and
``FLOOR_POOL_MAX_SIZE`` / ``FLOOR_POOL_MIN_SIZE`` (loopctl's defaults unless given).

    FLOOR_DATABASE_URL=... FLOOR_SECRET_KEY=... python benchmarks/floor_app.py --port 4001
"""

import argparse
import hashlib
import hmac
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import uvicorn
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from loopctl.platform.config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATH = "/api/v1/tenants/me"
# The same statement_timeout loopctl's pool sets on its connections.
STATEMENT_TIMEOUT_MS: int = Settings.model_fields["statement_timeout_ms"].default
POOL_MIN_SIZE: int = Settings.model_fields["pool_min_size"].default
POOL_MAX_SIZE: int = Settings.model_fields["pool_max_size"].default

KEY_LOOKUP = """
    SELECT tenant_id FROM api_keys
     WHERE key_hash = %s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
"""
SET_TENANT = "select set_config('app.tenant_id', %s, true)"
TENANT = """
    SELECT id, name, slug, email, status, settings, created_at, updated_at
      FROM tenants WHERE id = %s
"""
FIELDS = ("id", "name", "slug", "email", "status", "settings", "created_at", "updated_at")
JSON_HEADERS = [(b"content-type", b"application/json")]


class FloorApp:
    def __init__(self, database_url: str, secret: bytes, *, min_size: int, max_size: int) -> None:
        self._conninfo = make_conninfo(
            database_url,
            application_name="loopctl-floor",
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        self._secret = secret
        self._min_size = min_size
        self._max_size = max_size
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, body = await self._tenant(scope)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._pool = AsyncConnectionPool(
                    self._conninfo,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    name="loopctl-floor",
                    open=False,
                    timeout=10.0,
                )
                await self._pool.open(wait=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _tenant(self, scope: Scope) -> tuple[int, bytes]:
        if scope["path"] != PATH or scope["method"] != "GET":
            return 404, b'{"error":"not found"}'
        token = _bearer(scope["headers"])
        if token is None:
            return 401, b'{"error":"unauthorized"}'
        digest = hmac.new(self._secret, token, hashlib.sha256).hexdigest()
        assert self._pool is not None
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(KEY_LOOKUP, [digest])
            key = await cur.fetchone()
            if key is None:
                return 401, b'{"error":"invalid_api_key"}'
            await conn.execute(SET_TENANT, [str(key[0])])
            cur = await conn.execute(TENANT, [key[0]])
            row = await cur.fetchone()
        if row is None or row[4] != "active":
            return 403, b'{"error":"tenant_suspended"}'
        return 200, orjson.dumps({"data": dict(zip(FIELDS, row, strict=True))})


def _bearer(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" and token.strip() else None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the floor app for the auth benchmark.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = FloorApp(
        os.environ["FLOOR_DATABASE_URL"],
        os.environ["FLOOR_SECRET_KEY"].encode(),
        min_size=int(os.environ.get("FLOOR_POOL_MIN_SIZE", POOL_MIN_SIZE)),
        max_size=int(os.environ.get("FLOOR_POOL_MAX_SIZE", POOL_MAX_SIZE)),
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
