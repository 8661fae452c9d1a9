"""The one call every mutating service makes, in its own transaction, to append an audit row."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel

from loopctl.audit import repository
from loopctl.auth.principal import Actor
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id

Snapshot = BaseModel | dict[str, Any] | None


def _plain(snapshot: Snapshot) -> dict[str, Any] | None:
    # Snapshots are public views (response schemas), so no secret ever reaches the log.
    if snapshot is None or isinstance(snapshot, dict):
        return snapshot
    return snapshot.model_dump(mode="json")


async def record(
    conn: Connection,
    actor: Actor,
    *,
    entity_type: str,
    entity_id: UUID,
    action: str,
    before: Snapshot = None,
    after: Snapshot = None,
    project_id: UUID | None = None,
    tenant_id: UUID | None = None,
) -> None:
    await repository.insert(
        conn,
        {
            "tenant_id": tenant_id or actor.tenant,
            "id": new_id(),
            "project_id": project_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "actor_key_id": actor.key_id,
            "actor_agent_id": actor.agent_id,
            "actor_role": actor.role_name,
            "actor_label": actor.label,
            "before": _plain(before),
            "after": _plain(after),
            "request_id": actor.request_id,
        },
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """One entity's change, for ``record_many``."""

    entity_type: str
    entity_id: UUID
    action: str
    before: Snapshot = None
    after: Snapshot = None
    project_id: UUID | None = None


async def record_many(conn: Connection, actor: Actor, entries: Sequence[Entry]) -> None:
    """Append one row per entry in a single statement, for changes to many entities at once.

    Rows get the same actor and request id; snapshots should be plain dicts already when
    there are many (building a response model per row costs more than the insert).
    """
    await repository.insert_many(
        conn,
        [
            repository.AuditValues(
                id=new_id(),
                project_id=e.project_id,
                entity_type=e.entity_type,
                entity_id=e.entity_id,
                action=e.action,
                before=_plain(e.before),
                after=_plain(e.after),
            )
            for e in entries
        ],
        tenant_id=actor.tenant,
        actor_key_id=actor.key_id,
        actor_agent_id=actor.agent_id,
        actor_role=actor.role_name,
        actor_label=actor.label,
        request_id=actor.request_id,
    )


class Entity(Protocol):
    @property
    def id(self) -> UUID: ...


E = TypeVar("E", bound=Entity)


def _no_project(_: object) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Trail(Generic[E]):
    """How one kind of entity enters the log: its type, its public view, its project.

    A domain declares one (``TRAIL = audit.Trail("epic", view, lambda r: r.project_id)``)
    and records each change with one call, so every domain writes its entries alike.
    """

    entity_type: str
    view: Callable[[E], Snapshot]
    project: Callable[[E], UUID | None] = _no_project

    async def created(
        self, conn: Connection, actor: Actor, row: E, action: str = "created"
    ) -> None:
        await record(conn, actor, **self._about(row), action=action, after=self.view(row))

    async def changed(
        self, conn: Connection, actor: Actor, before: E, after: E, action: str = "updated"
    ) -> None:
        before_view, after_view = self.view(before), self.view(after)
        about = self._about(after)
        await record(conn, actor, **about, action=action, before=before_view, after=after_view)

    async def deleted(
        self, conn: Connection, actor: Actor, row: E, removed: Snapshot, action: str = "deleted"
    ) -> None:
        """``removed`` is what the deletion answered (the row and what went with it)."""
        await record(conn, actor, **self._about(row), action=action, before=removed)

    def _about(self, row: E) -> dict[str, Any]:
        """Which entity an entry is about: its type, id and project."""
        return {
            "entity_type": self.entity_type,
            "entity_id": row.id,
            "project_id": self.project(row),
        }
