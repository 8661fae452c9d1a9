"""db.fetch_row: one cursor kept with each connection, reused safely."""

import asyncio

import psycopg
import pytest

from loopctl.database.connections import Connection, fetch_row


async def test_fetch_row_returns_the_first_row_or_none(conn: Connection) -> None:
    assert await fetch_row(conn, "SELECT %s::int, 'x'", [7]) == (7, "x")
    assert await fetch_row(conn, "SELECT 1 WHERE false", []) is None


async def test_fetch_row_reuses_one_cursor_per_connection(conn: Connection) -> None:
    await fetch_row(conn, "SELECT 1", [])
    cursor = conn._loopctl_row_cursor  # type: ignore[attr-defined]
    await fetch_row(conn, "SELECT 2", [])
    assert conn._loopctl_row_cursor is cursor  # type: ignore[attr-defined]


async def test_tasks_sharing_a_connection_each_get_their_own_row(conn: Connection) -> None:
    rows = await asyncio.gather(
        *(fetch_row(conn, "SELECT %s::int, pg_sleep(0.01)", [n]) for n in range(8))
    )
    assert [row[0] if row else None for row in rows] == list(range(8))


async def test_a_failed_statement_leaves_the_cursor_usable(conn: Connection) -> None:
    async with conn.transaction():
        with pytest.raises(psycopg.errors.DivisionByZero):
            async with conn.transaction():
                await fetch_row(conn, "SELECT 1 / %s", [0])
        assert await fetch_row(conn, "SELECT 1 / %s", [1]) == (1,)
