"""The change feed: cursors, the horizon, and the page a consumer reads next.

A cursor is ``<txid>.<id hex>``: the transaction id and row id of the last event read.
Rows are read in (txid, id) order and only below the horizon (the oldest transaction
still running), so a row can never become visible behind a cursor already handed out.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.changes import repository
from loopctl.changes.repository import FeedQuery, FeedRow
from loopctl.changes.schemas import FeedMeta
from loopctl.database.connections import Connection
from loopctl.platform.errors import UnprocessableEntity

MAX_LIMIT = 1000
_CURSOR = re.compile(r"^([0-9]{1,19})\.([0-9a-f]{32})$")
_TXID_MAX = 2**63 - 1
# A position in the feed: the (txid, id) of an event, or a horizon's (xmin, 0).
Position = tuple[int, UUID]
START: Position = (0, UUID(int=0))


@dataclass(frozen=True, slots=True)
class Filters:
    project_id: UUID | None = None
    entity_type: str | None = None
    action: str | None = None

    def match(self, row: FeedRow) -> bool:
        """What the SQL filters select, for events already read (the live streams' fan-out)."""
        return (
            (self.project_id is None or row.project_id == self.project_id)
            and (self.entity_type is None or row.entity_type == self.entity_type)
            and (self.action is None or row.action == self.action)
        )


NO_FILTERS = Filters()


@dataclass(frozen=True, slots=True)
class JsonPage:
    """A poll's page: its events' JSON as PostgreSQL wrote and joined them, and its meta."""

    events: str
    meta: FeedMeta


@dataclass(frozen=True, slots=True)
class Page:
    """Events after a position, each as its JSON (``ChangeEvent``), and where to read on."""

    rows: list[FeedRow]
    next_position: Position
    has_more: bool
    limit: int

    @property
    def meta(self) -> FeedMeta:
        return FeedMeta(
            next_cursor=encode(*self.next_position), has_more=self.has_more, limit=self.limit
        )


def encode(txid: int, row_id: UUID) -> str:
    return f"{txid}.{row_id.hex}"


def decode(cursor: str, field: str = "query.cursor") -> tuple[int, UUID]:
    found = _CURSOR.fullmatch(cursor)
    if found is None or int(found[1]) > _TXID_MAX:
        raise UnprocessableEntity.for_field(field, "not a cursor this feed gave out")
    return int(found[1]), UUID(hex=found[2])


async def read(
    conn: Connection,
    principal: Principal,  # noqa: ARG001 (the shape of every service; RLS scopes it)
    *,
    cursor: str | None,
    since: datetime | None,
    filters: Filters,
    limit: int,
) -> JsonPage:
    """The events after ``cursor`` (or after ``since``, or from the start), oldest first."""
    if cursor is not None and since is not None:
        raise UnprocessableEntity.for_field("query.since", "give cursor or since, not both")
    start = START if cursor is None else decode(cursor)
    seen = await repository.horizon(conn)
    found = await repository.page_json(conn, _query(start, since, filters), seen, limit)
    has_more = found.found > limit
    position = _next(found.last or start, has_more, seen)
    return JsonPage(
        found.events, FeedMeta(next_cursor=encode(*position), has_more=has_more, limit=limit)
    )


async def read_from(
    conn: Connection,
    start: Position,
    since: datetime | None,
    filters: Filters,
    limit: int,
    *,
    probe: bool = False,
) -> tuple[Page, bool]:
    """A page after ``start``; with ``probe``, also whether committed rows wait above the
    horizon (live streams ask; a poll does not pay for it)."""
    # Read before the rows, so every transaction below it has ended when they are read.
    seen = await repository.horizon(conn)
    rows = await repository.after(conn, _query(start, since, filters), seen, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    position = _next((rows[-1].txid, rows[-1].id) if rows else start, has_more, seen)
    waiting = probe and not has_more and await repository.held_back(conn, seen)
    return Page(rows, position, has_more, limit), waiting


def _query(start: Position, since: datetime | None, filters: Filters) -> FeedQuery:
    return FeedQuery(
        after_txid=start[0],
        after_id=start[1],
        since=since,
        project_id=filters.project_id,
        entity_type=filters.entity_type,
        action=filters.action,
    )


def _next(last: Position, has_more: bool, seen: repository.Horizon) -> Position:
    """Where the next read starts: after the last event read, or at the horizon when every
    row below it after the cursor was read (so filtered readers skip what they left out
    instead of reading it again)."""
    return last if has_more else max(last, (seen.xmin, UUID(int=0)))
