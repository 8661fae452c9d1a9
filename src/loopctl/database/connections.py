"""Connections: the app-role pool, tenant transactions and the per-request connection.

Every unit of work (request, job, MCP call, CLI command) runs in one transaction that first
sets ``app.tenant_id``. Row-level security reads it; an empty value means "no tenant" and
matches no row. Services never commit: the dependency below commits before the response.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any, Protocol
from uuid import UUID

import orjson
from fastapi import Depends, Request
from psycopg import AsyncConnection, AsyncCursor
from psycopg.conninfo import make_conninfo
from psycopg.rows import tuple_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool


def _json_default(value: Any) -> Any:
    # A Decimal as a string keeps it exact (a float would round it).
    if isinstance(value, UUID | Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _json_dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_UTC_Z)


def _json_loads(data: bytes | bytearray | memoryview | str) -> Any:
    # orjson parses several times faster; what it refuses (nesting deeper than 1024, numbers
    # beyond a double) the standard library still reads, so nothing stored becomes unreadable.
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(bytes(data) if isinstance(data, memoryview) else data)


set_json_dumps(_json_dumps)
set_json_loads(_json_loads)

Connection = AsyncConnection[Any]


class ConnectionSource(Protocol):
    """Hands out connections: a pool in production, one shared connection in tests."""

    def connection(self) -> AbstractAsyncContextManager[Connection]: ...


class SingleConnection:
    """A source that serializes every user onto one connection.

    Tests use it so that each request runs inside the test's outer transaction, where
    the app's own transaction blocks become savepoints and everything rolls back.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield self._conn


def conninfo(url: str, *, application_name: str, statement_timeout_ms: int = 0) -> str:
    # UTC sessions: timestamps read back are UTC whatever the server's TimeZone is.
    options = "-c TimeZone=UTC"
    if statement_timeout_ms:
        options += f" -c statement_timeout={statement_timeout_ms}"
    return make_conninfo(url, application_name=application_name, options=options)


def create_pool(
    url: str,
    *,
    name: str,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int = 0,
) -> AsyncConnectionPool[Connection]:
    return AsyncConnectionPool(
        conninfo(url, application_name=name, statement_timeout_ms=statement_timeout_ms),
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        timeout=10.0,
    )


async def set_tenant(conn: Connection, tenant_id: UUID | None) -> None:
    # Always set it, even to '': a released savepoint or a reused connection must not
    # carry an earlier tenant into this unit of work.
    await conn.execute(
        "select set_config('app.tenant_id', %s, true)", [str(tenant_id) if tenant_id else ""]
    )


@asynccontextmanager
async def tenant_transaction(
    source: ConnectionSource, tenant_id: UUID | None
) -> AsyncIterator[Connection]:
    """One transaction with the tenant set; commits on success, rolls back on error."""
    async with source.connection() as conn, conn.transaction():
        await set_tenant(conn, tenant_id)
        yield conn


# The attribute under which fetch_row keeps a connection's cursor.
_ROW_CURSOR = "_loopctl_row_cursor"


async def fetch_row(conn: Connection, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run one statement and return its first row as a tuple, or None.

    Why not ``conn.execute``: it builds a new cursor (and its adapters) for every
    statement, which costs the client about 40% more CPU instructions than the statement
    itself on a reused cursor (docs/benchmarks.md). This keeps one cursor with each
    connection and reuses it. Safe with several tasks on one connection: the row is fetched straight after the
    statement, with no wait in between in which another task could run a statement on the
    same cursor (psycopg's ``fetchone`` does no I/O outside pipeline mode).
    """
    cursor: AsyncCursor[tuple[Any, ...]] | None = getattr(conn, _ROW_CURSOR, None)
    if cursor is None or cursor.closed:
        cursor = conn.cursor(row_factory=tuple_row)
        setattr(conn, _ROW_CURSOR, cursor)
    await cursor.execute(query, params)
    return await cursor.fetchone()


def request_source(request: Request) -> ConnectionSource:
    source: ConnectionSource = request.app.state.runtime.connections
    return source


@asynccontextmanager
async def request_transaction(request: Request) -> AsyncIterator[Connection]:
    """The one place a request's connection and transaction are opened.

    Both ways of serving a route use it: FastAPI's solver through ``request_connection``
    below and ``kit.direct.DirectRoute`` directly. Authentication sets the tenant on it.

    An error marked ``keeps_changes`` (a blocked self-action: refused, and recorded in the
    audit log) commits what the request wrote before it is raised on; any other error
    rolls the transaction back.
    """
    kept: Exception | None = None
    async with request_source(request).connection() as conn:
        async with conn.transaction():
            try:
                yield conn
            except Exception as exc:
                if not getattr(exc, "keeps_changes", False):
                    raise
                kept = exc
        if kept is not None:
            raise kept


async def request_connection(request: Request) -> AsyncIterator[Connection]:
    """The request's connection and transaction, as a FastAPI dependency."""
    async with request_transaction(request) as conn:
        yield conn


async def public_connection(request: Request) -> AsyncIterator[Connection]:
    """A transaction for unauthenticated routes: no tenant until the service sets one."""
    async with tenant_transaction(request_source(request), None) as conn:
        yield conn


# scope="function": the transaction ends (commits) before the response is sent, so a
# failed commit becomes an error response instead of a false success.
RequestConn = Annotated[Connection, Depends(request_connection, scope="function")]
PublicConn = Annotated[Connection, Depends(public_connection, scope="function")]
