"""The repository kit: the few ways a repository runs SQL, so every domain does it alike.

- ``fetch_one`` / ``fetch_all``: rows mapped to a row class (``psycopg.rows.class_row``).
- ``returning``: an ``INSERT`` or ``UPDATE ... RETURNING`` that must produce its row. Where
  the row needs a join (a story's epic number, a key's agent name), the write goes in a
  ``WITH`` and the join reads its ``RETURNING`` rows: still one statement, never a write
  followed by a second ``get``.
- ``insert`` / ``update`` (and ``add``, an insert whose row is not read back): that write for one row of one table, composed from its column
  values (the names quoted as identifiers, the values bound), so a domain's create and
  PATCH pass their fields through instead of spelling each column four times.
- ``Listing``: where one list's rows come from, declared once; ``Listing.page`` gives one
  page of them and the total the filters match (two statements: the total is not known
  from a page past the end).
- ``Filters``: the one idiom for optional filters. A condition goes into the statement only
  when its value was given, so each combination of filters gets its own plan, and no
  ``%s IS NULL OR ...`` hides an index from the planner.

The hot authentication path keeps ``database.connections.fetch_row`` (a reused cursor,
tuples) for CPU; see docs/benchmarks.md.
"""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, LiteralString, TypeVar

from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.pagination import Pagination

R = TypeVar("R")
# What cursor.execute accepts, minus t-strings: fixed text or psycopg.sql compositions.
Query = LiteralString | sql.SQL | sql.Composed
Params = Sequence[Any] | Mapping[str, Any]


async def fetch_one(conn: Connection, row: type[R], query: Query, params: Params = ()) -> R | None:
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, params)
        return await cur.fetchone()


async def fetch_all(conn: Connection, row: type[R], query: Query, params: Params = ()) -> list[R]:
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def returning(conn: Connection, row: type[R], query: Query, params: Params) -> R:
    """The row a write returns; the caller has made sure the write matches one row."""
    found = await fetch_one(conn, row, query, params)
    if found is None:
        raise LookupError("the statement returned no row")
    return found


async def fetch_value(conn: Connection, query: Query, params: Params = ()) -> Any:
    """The first column of the first row (a count, a flag), or None."""
    cur = await conn.execute(query, params)
    found = await cur.fetchone()
    return found[0] if found else None


# Wraps a write ending in RETURNING * into the statement that reads its row with a join.
Reader = Callable[[sql.Composed], sql.Composed]


def _bound(value: Any) -> Any:
    # A dict or a list is a jsonb column's value (no array column is written this way).
    return Jsonb(value) if isinstance(value, dict | list) else value


@lru_cache(maxsize=256)
def _insert(table: str, columns: tuple[str, ...], now: tuple[str, ...]) -> sql.Composed:
    values = [*map(sql.Placeholder, columns), *(sql.SQL("now()") for _ in now)]
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, (*columns, *now))),
        sql.SQL(", ").join(values),
    )


@lru_cache(maxsize=256)
def _add(table: str, columns: tuple[str, ...]) -> bytes:
    # Rendered once: the audit log's insert runs with every change.
    return _insert(table, columns, ()).as_bytes(None)


@lru_cache(maxsize=256)
def _update(table: str, columns: tuple[str, ...], also: LiteralString) -> sql.Composed:
    sets: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in columns
    ]
    sets.extend(sql.SQL(part) for part in (also, "updated_at = now()") if part)
    return sql.SQL("UPDATE {} SET {} WHERE id = %(row_id)s RETURNING *").format(
        sql.Identifier(table), sql.SQL(", ").join(sets)
    )


async def insert(
    conn: Connection,
    row: type[R],
    table: LiteralString,
    values: Mapping[str, Any],
    *,
    now: tuple[LiteralString, ...] = (),
    read: Reader | None = None,
) -> R:
    """``INSERT INTO table (columns) VALUES (values) RETURNING *``: a column per key of
    ``values``, and one set to ``now()`` per name in ``now``."""
    statement = _insert(table, tuple(values), now) + sql.SQL(" RETURNING *")
    bound = {name: _bound(value) for name, value in values.items()}
    return await returning(conn, row, read(statement) if read else statement, bound)


async def add(conn: Connection, table: LiteralString, values: Mapping[str, Any]) -> None:
    """``INSERT INTO table (columns) VALUES (values)``, for a row nobody reads back."""
    bound = {name: _bound(value) for name, value in values.items()}
    await conn.execute(_add(table, tuple(values)), bound)


async def update(
    conn: Connection,
    row: type[R],
    table: LiteralString,
    row_id: Any,
    values: Mapping[str, Any],
    *,
    also: LiteralString = "",
    read: Reader | None = None,
) -> R:
    """``UPDATE table SET column = value, ..., updated_at = now() WHERE id = row_id
    RETURNING *``; ``also`` adds assignments of its own, which may name the values."""
    statement = _update(table, tuple(values), also)
    bound = {name: _bound(value) for name, value in values.items()} | {"row_id": row_id}
    return await returning(conn, row, read(statement) if read else statement, bound)


class Filters:
    """The conditions of a WHERE clause, each added only when it applies.

    Conditions are fixed SQL written in the repository, with named placeholders; their
    values are bound, never formatted in.
    """

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        self._conditions: list[sql.Composable] = []

    def given(self, condition: LiteralString, **values: Any) -> "Filters":
        """Add the condition when every one of its values was given (is not None)."""
        if all(value is not None for value in values.values()):
            self._conditions.append(sql.SQL(condition))
            self.params.update(values)
        return self

    def when(self, applies: bool, condition: LiteralString) -> "Filters":
        """Add a condition without values when ``applies``."""
        if applies:
            self._conditions.append(sql.SQL(condition))
        return self

    @property
    def where(self) -> sql.Composable:
        """`` WHERE a AND b``, or nothing when no condition applies."""
        if not self._conditions:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(self._conditions)


def columns_of(row: type[Any]) -> sql.Composed:
    """``a, b, c``: the fields of a dataclass row, as the columns it is read from."""
    return sql.SQL(", ").join(sql.Identifier(field.name) for field in dataclasses.fields(row))


@dataclass(frozen=True, slots=True)
class Listing(Generic[R]):
    """Where pages of one row type come from, declared once per list a repository serves.

    ``select`` is the ``SELECT ... FROM ...`` of the rows; ``count_from`` the smallest
    ``FROM`` the filters need for the total (the joins for the columns only, left out).
    """

    row: type[R]
    select: sql.Composable
    count_from: sql.Composable

    @classmethod
    def table(cls, row: type[R], table: LiteralString) -> "Listing[R]":
        """The row class's columns of one table (named: a column the row does not hold,
        such as the audit log's stored event JSON, is not read)."""
        select = sql.SQL("SELECT {} FROM {}").format(columns_of(row), sql.Identifier(table))
        return cls(row, select, sql.SQL(table))

    async def page(
        self, conn: Connection, filters: Filters, order_by: Query, page: Pagination
    ) -> tuple[list[R], int]:
        """One page of the rows ``filters`` match in ``order_by`` (an ``ORDER BY`` clause),
        and how many rows match (two statements: a page past the end cannot tell)."""
        order = sql.SQL(order_by) if isinstance(order_by, str) else order_by
        statement = sql.SQL("{}{} {} LIMIT %(limit)s OFFSET %(offset)s").format(
            self.select, filters.where, order
        )
        params = {**filters.params, "limit": page.limit, "offset": page.offset}
        rows = await fetch_all(conn, self.row, statement, params)
        count = sql.SQL("SELECT count(*) FROM {}{}").format(self.count_from, filters.where)
        total = await fetch_value(conn, count, filters.params)
        return rows, int(total or 0)
