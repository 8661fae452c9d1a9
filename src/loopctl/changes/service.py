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
) -> Page:
    """The events after ``cursor`` (or after ``since``, or from the start), oldest first."""
    if cursor is not None and since is not None:
        raise UnprocessableEntity.for_field("query.since", "give cursor or since, not both")
    start = START if cursor is None else decode(cursor)
    page, _ = await read_from(conn, start, since, filters, limit)
    return page


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
    query = FeedQuery(
        after_txid=start[0],
        after_id=start[1],
        since=since,
        project_id=filters.project_id,
        entity_type=filters.entity_type,
        action=filters.action,
    )
    rows = await repository.after(conn, query, seen, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    position: Position = (rows[-1].txid, rows[-1].id) if rows else start
    if not has_more:
        # Every row below the horizon after the cursor was read: the next read can start
        # at the horizon, skipping what the filters left out instead of reading it again.
        position = max(position, (seen.xmin, UUID(int=0)))
    waiting = probe and not has_more and await repository.held_back(conn, seen)
    return Page(rows, position, has_more, limit), waiting
