"""SQL of the story loop: the locked read, the progress update, and the loop's records."""

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.repository import fetch_all, fetch_one, fetch_value, returning
from loopctl.kit.sql import maybe

# Columns the progress service may write; anything else is a programming error.
WRITABLE = frozenset(
    {
        "agent_status",
        "verified_status",
        "assigned_agent_id",
        "assigned_at",
        "lease_expires_at",
        "lease_token",
        "review_requested_at",
        "reported_done_at",
        "reported_by_agent_id",
        "verified_at",
        "rejected_at",
        "rejection_reason",
        "backfill",
    }
)

_COLUMNS = sql.SQL(
    "s.id, s.project_id, s.epic_id, s.number, s.title, s.acceptance_criteria,"
    " s.agent_status, s.verified_status, s.assigned_agent_id, s.assigned_at,"
    " s.lease_expires_at, s.lease_token, s.review_requested_at, s.reported_done_at,"
    " s.reported_by_agent_id, s.verified_at, s.rejected_at, s.rejection_reason, s.backfill,"
    " s.updated_at"
)


@dataclass(frozen=True, slots=True)
class ProgressRow:
    id: UUID
    project_id: UUID
    epic_id: UUID
    number: str
    title: str
    acceptance_criteria: list[dict[str, Any]]
    agent_status: str
    verified_status: str
    assigned_agent_id: UUID | None
    assigned_at: datetime | None
    lease_expires_at: datetime | None
    lease_token: int
    review_requested_at: datetime | None
    reported_done_at: datetime | None
    reported_by_agent_id: UUID | None
    verified_at: datetime | None
    rejected_at: datetime | None
    rejection_reason: str | None
    backfill: dict[str, Any] | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LockedRow:
    story: ProgressRow
    reviewed_since_report: bool
    now: datetime
    # The tenant's stored settings, read in the same statement (tenants.settings.parse).
    settings: dict[str, Any] = field(default_factory=dict)
    # Unverified stories it waits for: its own prerequisites and the stories of the epics
    # its epic depends on (the claim gate).
    unmet: int = 0
    # Unverified, without an estimate, and the project's last such story: verifying it
    # changes the critical path's weights (hours instead of a count).
    last_unestimated: bool = False
    description: str | None = None  # read by claim-next only


# What the locked read adds to the progress columns, in LockedRow's order after ``story``.
_LOCKED_EXTRAS = sql.SQL("""
       EXISTS (SELECT 1 FROM review_records r
                WHERE r.tenant_id = s.tenant_id AND r.story_id = s.id
                  AND r.created_at > coalesce(greatest(s.reported_done_at, s.rejected_at),
                                              '-infinity')) AS reviewed,
       statement_timestamp() AS now,
       (SELECT t.settings FROM tenants t WHERE t.id = s.tenant_id) AS settings,
       (SELECT count(*) FROM story_dependencies d
         WHERE d.tenant_id = s.tenant_id AND d.story_id = s.id AND NOT d.blocker_verified)
       + (SELECT count(*) FROM epic_dependencies ed
            JOIN stories b ON b.tenant_id = ed.tenant_id AND b.epic_id = ed.depends_on_epic_id
           WHERE ed.tenant_id = s.tenant_id AND ed.epic_id = s.epic_id
             AND b.verified_status <> 'verified') AS unmet,
       CASE WHEN s.estimated_hours IS NULL AND s.verified_status <> 'verified' THEN
            NOT EXISTS (SELECT 1 FROM stories o
                         WHERE o.tenant_id = s.tenant_id AND o.project_id = s.project_id
                           AND o.estimated_hours IS NULL AND o.verified_status <> 'verified'
                           AND o.id <> s.id)
            ELSE false END AS last_unestimated
""")
_PROGRESS_WIDTH = len(fields(ProgressRow))


def _locked(row: tuple[Any, ...]) -> LockedRow:
    story, extras = ProgressRow(*row[:_PROGRESS_WIDTH]), row[_PROGRESS_WIDTH:]
    reviewed, now, settings, unmet, last_unestimated, *description = extras
    return LockedRow(
        story,
        bool(reviewed),
        now,
        settings or {},
        int(unmet),
        bool(last_unestimated),
        description[0] if description else None,
    )


# Rendered once: the statement every transition starts with.
_LOCK = (
    sql.SQL("SELECT {columns}, {extras} FROM stories s WHERE s.id = %s FOR NO KEY UPDATE OF s")
    .format(columns=_COLUMNS, extras=_LOCKED_EXTRAS)
    .as_bytes(None)
)


async def lock(conn: Connection, story_id: UUID) -> LockedRow | None:
    """The story under a row lock, with what the rules need beside it: whether a review
    followed its latest report or rejection, the database clock (leases are timed by the
    database, not by hosts), the tenant's settings and the unverified prerequisites.

    FOR NO KEY UPDATE, as the update itself takes: a claim-order refresh inserting rows
    that reference the story (a key-share check) does not wait for the loop."""
    cur = await conn.execute(_LOCK, [story_id])
    row = await cur.fetchone()
    return None if row is None else _locked(row)


# What claim-next may take: not verified, nothing unverified to wait for, and either
# unclaimed or held by a lease that expired before review was requested; in claim order
# (docs/progress.md), an index scan of claim_order that stops at the first such story
# no other transaction holds.
_CLAIM_NEXT = sql.SQL("""
    SELECT {columns}, {extras}, s.description
      FROM claim_order o JOIN stories s ON s.tenant_id = o.tenant_id AND s.id = o.story_id
     WHERE NOT o.verified {scope}
       AND EXISTS (SELECT 1 FROM projects p
                    WHERE p.tenant_id = o.tenant_id AND p.id = {project}
                      AND p.status = 'active')
       AND s.verified_status <> 'verified'
       AND (s.agent_status IN ('pending', 'contracted')
            OR (s.agent_status IN ('assigned', 'implementing')
                AND s.review_requested_at IS NULL
                AND s.lease_expires_at <= statement_timestamp()))
       AND NOT EXISTS (
             SELECT 1 FROM story_dependencies d
              WHERE d.tenant_id = s.tenant_id AND d.story_id = s.id AND NOT d.blocker_verified)
       AND NOT EXISTS (
             SELECT 1 FROM epic_dependencies ed
               JOIN stories b ON b.tenant_id = ed.tenant_id AND b.epic_id = ed.depends_on_epic_id
              WHERE ed.tenant_id = s.tenant_id AND ed.epic_id = s.epic_id
                AND b.verified_status <> 'verified')
     ORDER BY o.chain DESC, o.unblocks DESC, {epic_order} o.number_sort, o.story_id
     LIMIT 1
     FOR NO KEY UPDATE OF s SKIP LOCKED
""")


def _claim_next(project: bool, epic: bool) -> bytes:
    scope = maybe(" AND o.project_id = %(project)s", project) + maybe(
        " AND o.epic_id = %(epic)s", epic
    )
    return _CLAIM_NEXT.format(
        columns=_COLUMNS,
        extras=_LOCKED_EXTRAS,
        scope=scope,
        # Given, the project is checked once (an uncorrelated subquery), else per row.
        project=sql.SQL("%(project)s" if project else "o.project_id"),
        # Within one epic its position and number are constant: leaving them out lets the
        # epic index give the order.
        epic_order=sql.SQL("" if epic else "o.epic_position, o.epic_number,"),
    ).as_bytes(None)


# Rendered once per scope (project given, epic given).
_CLAIM_NEXT_BY_SCOPE = {(p, e): _claim_next(p, e) for p in (False, True) for e in (False, True)}


async def lock_next(
    conn: Connection, project_id: UUID | None, epic_id: UUID | None
) -> LockedRow | None:
    """Lock and return the first claimable story in claim order, skipping rows other
    transactions hold, so that concurrent callers each get a different story."""
    query = _CLAIM_NEXT_BY_SCOPE[project_id is not None, epic_id is not None]
    cur = await conn.execute(query, {"project": project_id, "epic": epic_id})
    row = await cur.fetchone()
    return None if row is None else _locked(row)


async def update(conn: Connection, story_id: UUID, values: dict[str, Any]) -> ProgressRow:
    """Write the given progress columns (and ``updated_at``) and return the new row."""
    unknown = set(values) - WRITABLE
    if unknown:
        raise ValueError(f"not progress columns: {sorted(unknown)}")
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in values
    )
    query = sql.SQL(
        "UPDATE stories s SET {assignments}, updated_at = now() WHERE s.id = %(story_id)s"
        " RETURNING {columns}"
    ).format(assignments=assignments, columns=_COLUMNS)
    params = {k: Jsonb(v) if isinstance(v, dict) else v for k, v in values.items()}
    # The row is locked by this transaction, so the update matches it.
    return await returning(conn, ProgressRow, query, {**params, "story_id": story_id})


async def get(conn: Connection, story_id: UUID) -> ProgressRow | None:
    query = sql.SQL("SELECT {columns} FROM stories s WHERE s.id = %s").format(columns=_COLUMNS)
    return await fetch_one(conn, ProgressRow, query, [story_id])


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: UUID
    story_id: UUID
    reviewer_agent_id: UUID | None
    review_type: str
    findings_count: int
    fixes_count: int
    disproved_count: int
    summary: str | None
    completed_at: datetime


async def insert_review(conn: Connection, values: dict[str, Any]) -> ReviewRow:
    # Timed by the statement, not the transaction: the review gate compares it with the
    # report's time, which is also a statement time.
    query = """
        INSERT INTO review_records (tenant_id, id, project_id, story_id, reviewer_agent_id,
                                    reviewer_key_id, review_type, findings_count,
                                    fixes_count, disproved_count, summary, completed_at,
                                    created_at)
        VALUES (%(tenant_id)s, %(id)s, %(project_id)s, %(story_id)s, %(reviewer_agent_id)s,
                %(reviewer_key_id)s, %(review_type)s, %(findings_count)s, %(fixes_count)s,
                %(disproved_count)s, %(summary)s, statement_timestamp(),
                statement_timestamp())
        RETURNING id, story_id, reviewer_agent_id, review_type, findings_count, fixes_count,
                  disproved_count, summary, completed_at
    """
    return await returning(conn, ReviewRow, query, values)


@dataclass(frozen=True, slots=True)
class VerificationRow:
    id: UUID
    story_id: UUID
    orchestrator_agent_id: UUID
    result: str
    summary: str | None
    findings: dict[str, Any]
    review_type: str | None
    criteria: list[dict[str, Any]]
    iteration: int
    created_at: datetime


_VERIFICATION = sql.SQL(
    "id, story_id, orchestrator_agent_id, result, summary, findings, review_type, criteria,"
    " iteration, created_at"
)


async def insert_verification(conn: Connection, values: dict[str, Any]) -> VerificationRow:
    """Append a verdict; its iteration is one more than the story's last (the story row is
    locked, so two verdicts cannot take the same number)."""
    params = {
        **values,
        "findings": Jsonb(values["findings"]),
        "criteria": Jsonb(values["criteria"]),
    }
    query = sql.SQL("""
        INSERT INTO verification_results (tenant_id, id, project_id, story_id,
                                          orchestrator_agent_id, result, summary, findings,
                                          review_type, criteria, iteration)
        SELECT %(tenant_id)s, %(id)s, %(project_id)s, %(story_id)s, %(orchestrator_agent_id)s,
               %(result)s, %(summary)s, %(findings)s, %(review_type)s, %(criteria)s,
               coalesce(max(v.iteration), 0) + 1
          FROM verification_results v WHERE v.story_id = %(story_id)s
        RETURNING {columns}
    """).format(columns=_VERIFICATION)
    return await returning(conn, VerificationRow, query, params)


async def verifications(conn: Connection, story_id: UUID) -> list[VerificationRow]:
    query = sql.SQL(
        "SELECT {columns} FROM verification_results WHERE story_id = %s ORDER BY iteration DESC"
    ).format(columns=_VERIFICATION)
    return await fetch_all(conn, VerificationRow, query, [story_id])


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    id: UUID
    story_id: UUID
    artifact_type: str
    path: str
    exists: bool
    details: dict[str, Any]
    reported_by_agent_id: UUID | None
    created_at: datetime


_ARTIFACT = sql.SQL(
    'id, story_id, artifact_type, path, "exists", details, reported_by_agent_id, created_at'
)


async def insert_artifact(conn: Connection, values: dict[str, Any]) -> ArtifactRow:
    query = sql.SQL("""
        INSERT INTO artifacts (tenant_id, id, project_id, story_id, artifact_type, path,
                               "exists", details, reported_by_agent_id, reported_by_key_id)
        VALUES (%(tenant_id)s, %(id)s, %(project_id)s, %(story_id)s, %(artifact_type)s,
                %(path)s, %(exists)s, %(details)s, %(reported_by_agent_id)s,
                %(reported_by_key_id)s)
        RETURNING {columns}
    """).format(columns=_ARTIFACT)
    return await returning(
        conn, ArtifactRow, query, {**values, "details": Jsonb(values["details"])}
    )


async def artifacts(conn: Connection, story_id: UUID) -> list[ArtifactRow]:
    query = sql.SQL(
        "SELECT {columns} FROM artifacts WHERE story_id = %s ORDER BY created_at, id"
    ).format(columns=_ARTIFACT)
    return await fetch_all(conn, ArtifactRow, query, [story_id])


async def description(conn: Connection, story_id: UUID) -> str | None:
    """The story's description (not in the progress row: it can be 50,000 characters)."""
    text: str | None = await fetch_value(
        conn, "SELECT description FROM stories WHERE id = %s", [story_id]
    )
    return text


@dataclass(frozen=True, slots=True)
class CriterionStatusRow:
    id: str
    criterion: str
    result: str | None
    evidence: str | None
    iteration: int | None
    checked_at: datetime | None
    checked_by_agent_id: UUID | None


async def criteria_status(conn: Connection, story_id: UUID) -> list[CriterionStatusRow]:
    """Each acceptance criterion in story order with its latest result, if any verdict
    carried one."""
    query = """
        SELECT c.value ->> 'id' AS id, c.value ->> 'criterion' AS criterion,
               latest.result, latest.evidence, latest.iteration, latest.checked_at,
               latest.checked_by_agent_id
          FROM stories s
         CROSS JOIN LATERAL jsonb_array_elements(s.acceptance_criteria)
               WITH ORDINALITY AS c(value, n)
          LEFT JOIN LATERAL (
               SELECT x ->> 'result' AS result, x ->> 'evidence' AS evidence, v.iteration,
                      v.created_at AS checked_at, v.orchestrator_agent_id AS checked_by_agent_id
                 FROM verification_results v
                CROSS JOIN LATERAL jsonb_array_elements(v.criteria) AS x
                WHERE v.tenant_id = s.tenant_id AND v.story_id = s.id
                  AND x ->> 'id' = c.value ->> 'id' AND x ->> 'result' <> 'not_checked'
                ORDER BY v.iteration DESC LIMIT 1) latest ON true
         WHERE s.id = %s
         ORDER BY c.n
    """
    return await fetch_all(conn, CriterionStatusRow, query, [story_id])


async def reported_unverified(conn: Connection, epic_id: UUID) -> list[UUID]:
    cur = await conn.execute(
        "SELECT id FROM stories WHERE epic_id = %s AND agent_status = 'reported_done'"
        " AND verified_status <> 'verified' ORDER BY id",
        [epic_id],
    )
    return [UUID(str(r[0])) for r in await cur.fetchall()]
