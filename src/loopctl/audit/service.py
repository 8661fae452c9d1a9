"""The one call every mutating service makes, in its own transaction, to append an audit row."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
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
        tenant_id=tenant_id or actor.tenant,
        id=new_id(),
        project_id=project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor_key_id=actor.key_id,
        actor_agent_id=actor.agent_id,
        actor_role=actor.role_name,
        actor_label=actor.label,
        before=_plain(before),
        after=_plain(after),
        request_id=actor.request_id,
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
