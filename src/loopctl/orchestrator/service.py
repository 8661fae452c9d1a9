"""Orchestrator checkpoints: each save adds the next version if the writer read the latest.

Optimistic locking with no lock held between requests: a save names the version it read,
and the unique (tenant, project, state_key, version) key lets only one writer add the next
one. A writer that loses the race waits on the winner's uncommitted row, then fails the
insert inside a savepoint, and is told the version that won.
"""

from uuid import UUID

import orjson
from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id
from loopctl.kit.pagination import Pagination
from loopctl.orchestrator import repository
from loopctl.orchestrator.errors import StateNotFound, StateTooLarge, VersionConflict
from loopctl.orchestrator.repository import StateRow
from loopctl.orchestrator.schemas import OrchestratorState, StateSave, StateVersion
from loopctl.projects import service as projects


def view(row: StateRow) -> OrchestratorState:
    return OrchestratorState(
        id=row.id,
        tenant_id=row.tenant_id,
        project_id=row.project_id,
        state_key=row.state_key,
        state_data=row.state_data,
        cursor=row.cursor,
        version=row.version,
        saved_by=row.saved_by,
        saved_by_agent_id=row.saved_by_agent_id,
        inserted_at=row.inserted_at,
        updated_at=row.saved_at,
    )


def version_view(row: StateRow) -> StateVersion:
    return StateVersion.model_validate(row)


def _summary(row: StateRow, size: int | None = None) -> dict[str, object]:
    # The audit entry names the version, not its data: the versions are the full history,
    # and every audit entry reaches every change-feed reader (docs/orchestrator-state.md).
    summary: dict[str, object] = {
        "project_id": str(row.project_id),
        "state_key": row.state_key,
        "version": row.version,
        "cursor": row.cursor,
    }
    if size is not None:
        summary["state_bytes"] = size
    return summary


def _conflict(current: StateRow | None, expected: int | None, state_key: str) -> VersionConflict:
    version = current.version if current else 0
    if current is None:
        message = f"There is no state {state_key!r} yet: save version 0 (or none) to create it"
    elif not expected:
        message = (
            f"State {state_key!r} exists at version {version}: send that version to replace it"
        )
    else:
        message = (
            f"State {state_key!r} is at version {version}, not {expected}: load it again, "
            "merge, and save with its current version"
        )
    return VersionConflict(
        message,
        details={
            "current_version": version,
            "expected_version": expected or 0,
            "state_key": state_key,
        },
    )


async def save(
    conn: Connection,
    principal: Principal,
    project_id: UUID,
    body: StateSave,
    *,
    expected: int | None,
    max_bytes: int,
) -> StateRow:
    """Add the next version of (project, state_key) if ``expected`` is the latest one."""
    await projects.writable(conn, project_id)
    size = len(orjson.dumps(body.state_data))
    if size > max_bytes:
        raise StateTooLarge(
            f"state_data is {size} bytes of JSON; this server accepts at most {max_bytes}",
            details={"field": "state_data", "size": size, "limit": max_bytes},
        )
    current = await repository.latest(conn, project_id, body.state_key)
    if (current.version if current else 0) != (expected or 0):
        raise _conflict(current, expected, body.state_key)
    try:
        # A savepoint: losing the race must leave the request's transaction usable.
        async with conn.transaction():
            row = await repository.insert(
                conn,
                tenant_id=principal.tenant,
                id=current.id if current else new_id(),
                version=(expected or 0) + 1,
                project_id=project_id,
                state_key=body.state_key,
                state_data=body.state_data,
                cursor=body.cursor,
                saved_by=principal.label,
                saved_by_key_id=principal.key_id,
                saved_by_agent_id=principal.agent_id,
                inserted_at=current.inserted_at if current else None,
            )
    except pg.UniqueViolation:
        winner = await repository.latest(conn, project_id, body.state_key)
        raise _conflict(winner, expected, body.state_key) from None
    await audit.record(
        conn,
        principal,
        entity_type="orchestrator_state",
        entity_id=row.id,
        action="saved",
        before=_summary(current) if current else None,
        after=_summary(row, size),
        project_id=project_id,
    )
    return row


async def get(conn: Connection, principal: Principal, project_id: UUID, state_key: str) -> StateRow:
    await projects.get(conn, principal, project_id)
    row = await repository.latest(conn, project_id, state_key)
    if row is None:
        raise StateNotFound(details={"project_id": str(project_id), "state_key": state_key})
    return row


async def history(
    conn: Connection, principal: Principal, project_id: UUID, state_key: str, page: Pagination
) -> tuple[list[StateRow], int]:
    """Every version of the checkpoint, newest first; an unknown state_key has none."""
    await projects.get(conn, principal, project_id)
    return await repository.history(conn, project_id, state_key, page)
