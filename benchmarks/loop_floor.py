"""The floor of the loop benchmark: the least a server can do to run the story loop correctly.

A raw ASGI app (no FastAPI, no pydantic) under the same uvicorn settings as ``loopctl
serve``, serving the six routes ``loop.py`` drives: ``POST /api/v1/stories/claim-next`` and
``POST /api/v1/stories/{id}/start|request-review|report|review-complete|verify``. Per request,
in one transaction on a psycopg pool connected as the **app role** (row-level security in
force, as loopctl's requests run):

1. resolve the bearer key with ``loopctl_resolve_api_key`` (it sets ``app.tenant_id``),
2. lock the story row (``FOR UPDATE``; claim-next picks it ``FOR UPDATE SKIP LOCKED`` with
   loopctl's readiness rule and order),
3. check role, identity, state, lease and fencing token (and the review gate for verify),
4. write the transition (and the review or verdict row),
5. insert one ``audit_log`` row per transition with before/after snapshots.

A refusal answers loopctl's status and error code in its envelope and rolls back (loopctl
also keeps an audit entry of a blocked self-action; the benchmark never attempts one). Configuration comes from the
environment (``loop.py`` sets it): ``FLOOR_DATABASE_URL``, ``FLOOR_SECRET_KEY``,
``FLOOR_POOL_MAX_SIZE``.

    FLOOR_DATABASE_URL=... FLOOR_SECRET_KEY=... python benchmarks/loop_floor.py --port 4001
"""

import argparse
import hashlib
import hmac
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

# Run as a script, this directory (not the repository) is on sys.path; appended, it
# shadows nothing.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks.floor_app import (
    POOL_MAX_SIZE,
    POOL_MIN_SIZE,
    STATEMENT_TIMEOUT_MS,
    Receive,
    Scope,
    Send,
    _bearer,
)

PREFIX = "/api/v1/stories/"
Conn = AsyncConnection[tuple[Any, ...]]
Row = tuple[Any, ...]

RESOLVE = "SELECT key_id, tenant_id, role, agent_id, key_name, agent_name FROM loopctl_resolve_api_key(%s)"
# loopctl's claim-next rule (progress/repository._CLAIM_NEXT), stated again: ready means
# not verified, unclaimed or with an expired lease not handed off, and nothing unverified
# to wait for; in claim order (the heaviest remaining chain first, then most direct
# dependents, then epic position and number, then story number), read from the claim_order
# rows that loopctl's migration 0012 keeps. One statement finds, locks and reads the story
# with the tenant's lease length.
CANDIDATE = """
    SELECT s.project_id, s.agent_status, s.verified_status, s.assigned_agent_id,
           s.lease_expires_at, s.lease_token, s.review_requested_at, s.reported_done_at,
           s.reported_by_agent_id, statement_timestamp(),
           (SELECT coalesce((t.settings ->> 'lease_ttl_seconds')::int, 1800)
              FROM tenants t WHERE t.id = s.tenant_id),
           s.id, s.title, s.description, s.acceptance_criteria
      FROM claim_order o JOIN stories s ON s.tenant_id = o.tenant_id AND s.id = o.story_id
     WHERE o.project_id = %(project)s AND NOT o.verified
       AND EXISTS (SELECT 1 FROM projects p WHERE p.tenant_id = o.tenant_id
                      AND p.id = %(project)s AND p.status = 'active')
       AND s.verified_status <> 'verified'
       AND (s.agent_status IN ('pending', 'contracted')
            OR (s.agent_status IN ('assigned', 'implementing') AND s.review_requested_at IS NULL
                AND s.lease_expires_at <= statement_timestamp()))
       AND NOT EXISTS (SELECT 1 FROM story_dependencies d WHERE d.tenant_id = s.tenant_id
                          AND d.story_id = s.id AND NOT d.blocker_verified)
       AND NOT EXISTS (SELECT 1 FROM epic_dependencies ed
                         JOIN stories b ON b.tenant_id = ed.tenant_id
                                       AND b.epic_id = ed.depends_on_epic_id
                        WHERE ed.tenant_id = s.tenant_id AND ed.epic_id = s.epic_id
                          AND b.verified_status <> 'verified')
     ORDER BY o.chain DESC, o.unblocks DESC, o.epic_position, o.epic_number, o.number_sort,
              o.story_id
     LIMIT 1 FOR NO KEY UPDATE OF s SKIP LOCKED
"""
STATE = """agent_status, verified_status, assigned_agent_id, lease_expires_at, lease_token,
           review_requested_at, reported_done_at, reported_by_agent_id"""
# Besides the state: whether a review followed the report (verify's gate), the criteria
# count and the tenant's criteria setting, and what loopctl's locked read also answers
# for a verification: unverified prerequisites, and whether the story is the project's
# last one without an estimate (either would mean its claim order must be recomputed).
LOCK = f"""
    SELECT project_id, {STATE}, statement_timestamp(),
           EXISTS (SELECT 1 FROM review_records r
                    WHERE r.tenant_id = s.tenant_id AND r.story_id = s.id
                      AND r.created_at > coalesce(greatest(s.reported_done_at, s.rejected_at),
                                                  '-infinity')),
           jsonb_array_length(acceptance_criteria),
           (SELECT coalesce((t.settings ->> 'require_criteria_for_verify')::boolean, false)
              FROM tenants t WHERE t.id = s.tenant_id),
           EXISTS (SELECT 1 FROM story_dependencies d WHERE d.tenant_id = s.tenant_id
                      AND d.story_id = s.id AND NOT d.blocker_verified)
           OR EXISTS (SELECT 1 FROM epic_dependencies ed
                        JOIN stories b ON b.tenant_id = ed.tenant_id
                                      AND b.epic_id = ed.depends_on_epic_id
                       WHERE ed.tenant_id = s.tenant_id AND ed.epic_id = s.epic_id
                         AND b.verified_status <> 'verified')
           OR CASE WHEN s.estimated_hours IS NULL AND s.verified_status <> 'verified' THEN
                   NOT EXISTS (SELECT 1 FROM stories o
                                WHERE o.tenant_id = s.tenant_id AND o.project_id = s.project_id
                                  AND o.estimated_hours IS NULL
                                  AND o.verified_status <> 'verified' AND o.id <> s.id)
                   ELSE false END
      FROM stories s WHERE id = %s FOR NO KEY UPDATE
"""
CLAIM = f"""
    UPDATE stories SET agent_status = 'assigned', assigned_agent_id = %(agent)s,
           assigned_at = %(now)s, lease_expires_at = %(now)s + %(ttl)s * interval '1 second',
           lease_token = lease_token + 1, review_requested_at = NULL, updated_at = now()
     WHERE id = %(id)s RETURNING {STATE}
"""
UPDATES = {
    "start": "agent_status = 'implementing'",
    "request-review": "review_requested_at = coalesce(review_requested_at, %(now)s)",
    "report": "agent_status = 'reported_done', reported_done_at = %(now)s,"
    " reported_by_agent_id = %(agent)s",
    "verify": "verified_status = 'verified', verified_at = %(now)s, rejected_at = NULL,"
    " rejection_reason = NULL",
}
AUDIT_ROW = "(%s, %s, %s, 'story', %s, %s, %s, %s, %s, %s, %s, %s)"
AUDIT = f"""
    INSERT INTO audit_log (tenant_id, id, project_id, entity_type, entity_id, action,
                           actor_key_id, actor_agent_id, actor_role, actor_label, before, after)
    VALUES {AUDIT_ROW}
"""
REVIEW = """
    INSERT INTO review_records (tenant_id, id, project_id, story_id, reviewer_agent_id,
                                reviewer_key_id, review_type, completed_at, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, statement_timestamp(), statement_timestamp())
"""
VERDICT = """
    INSERT INTO verification_results (tenant_id, id, project_id, story_id,
                                      orchestrator_agent_id, result, summary, iteration)
    SELECT %s, %s, %s, %s, %s, 'pass', %s, coalesce(max(v.iteration), 0) + 1
      FROM verification_results v WHERE v.story_id = %s
"""
AUDIT_ACTIONS = {
    "start": "status_changed",
    "request-review": "review_requested",
    "report": "status_changed",
    "review-complete": "review_completed",
    "verify": "verified",
}
ROLES = {
    "claim-next": {"agent"},
    "start": {"agent"},
    "request-review": {"agent"},
    "report": {"agent", "orchestrator"},
    "review-complete": {"orchestrator", "user"},
    "verify": {"orchestrator"},
}
FROM_STATE = {
    "start": "assigned",
    "request-review": "implementing",
    "report": "implementing",
    "review-complete": "reported_done",
    "verify": "reported_done",
}
SELF_GATES = {
    "report": "self_report_blocked",
    "review-complete": "self_review_blocked",
    "verify": "self_verify_blocked",
}
HOLDER = {"start", "request-review"}
JSON_HEADERS = [(b"content-type", b"application/json")]


class Refused(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


class Caller:
    __slots__ = ("agent", "key", "label", "role", "tenant")

    def __init__(self, row: Row) -> None:
        self.key, self.tenant, self.role, self.agent = row[0], row[1], row[2], row[3]
        self.label = row[5] if row[5] is not None else row[4]


STATE_NAMES = tuple(name.strip() for name in STATE.split(","))


def _snapshot(state: Row) -> bytes:
    return orjson.dumps(dict(zip(STATE_NAMES, state, strict=True)), default=str)


def _audit_values(
    caller: Caller, project: Any, story: Any, action: str, before: Row, after: Row
) -> list[Any]:
    return [caller.tenant, uuid.uuid4(), project, story, action, caller.key, caller.agent,
            caller.role, caller.label, _snapshot(before).decode(), _snapshot(after).decode()]  # fmt: skip


async def _audit(
    conn: Conn, caller: Caller, project: Any, story: Any, action: str, before: Row, after: Row
) -> None:
    await conn.execute(AUDIT, _audit_values(caller, project, story, action, before, after))


async def claim_next(conn: Conn, caller: Caller, body: dict[str, Any]) -> tuple[int, Any]:
    cur = await conn.execute(CANDIDATE, {"project": body.get("project_id")})
    found = await cur.fetchone()
    if found is None:
        raise Refused(404, "no_ready_story")
    project, before, now, ttl, story = found[0], found[1:9], found[9], found[10], found[11]
    params = {"agent": caller.agent, "now": now, "id": story, "ttl": ttl}
    cur = await conn.execute(CLAIM, params)
    after = await cur.fetchone()
    assert after is not None
    # A pending story is contracted on the caller's behalf, then claimed: two transitions;
    # a claimed one whose lease ran out is taken over, and the expiry is audited. One
    # INSERT for the entries.
    actions = {"pending": ("status_changed",) * 2, "contracted": ("status_changed",)}
    entries = actions.get(before[0], ("lease_expired", "status_changed"))
    values = [v for a in entries for v in _audit_values(caller, project, story, a, before, after)]
    rows = ", ".join([AUDIT_ROW] * len(entries))
    await conn.execute(AUDIT.replace(AUDIT_ROW, rows), values)
    lease = {"agent_id": caller.agent, "token": after[4], "expires_at": after[3]}
    data = {"id": story, "agent_status": after[0], "verified_status": after[1], "lease": lease,
            "title": found[12], "description": found[13], "acceptance_criteria": found[14]}  # fmt: skip
    return 200, data


def _check(verb: str, caller: Caller, state: Row, now: Any, token: Any) -> None:
    status, assignee, expires, current, handed_off = (
        state[0], state[2], state[3], state[4], state[5] is not None
    )  # fmt: skip
    if verb in SELF_GATES and assignee is not None and assignee == caller.agent:
        raise Refused(409, SELF_GATES[verb])
    if status != FROM_STATE[verb]:
        raise Refused(409, "invalid_transition")
    live = assignee is not None and (handed_off or expires is None or expires > now)
    if verb in HOLDER:
        if token is not None and token != current:
            raise Refused(409, "lease_lost")
        if assignee != caller.agent:
            raise Refused(403, "not_assignee")
        if not live:
            raise Refused(409, "lease_lost")
    if verb == "report" and not live:
        raise Refused(409, "lease_expired")
    if verb == "verify" and state[1] == "verified":
        raise Refused(409, "already_verified")


async def transition(
    conn: Conn, caller: Caller, verb: str, story: str, body: dict[str, Any]
) -> tuple[int, Any]:
    cur = await conn.execute(LOCK, [story])
    locked = await cur.fetchone()
    if locked is None:
        raise Refused(404, "story_not_found")
    project, before, now, reviewed, criteria, required, reorders = (
        locked[0], locked[1:9], locked[9], locked[10], locked[11], locked[12], locked[13]
    )  # fmt: skip
    _check(verb, caller, before, now, body.get("lease_token"))
    params = {"agent": caller.agent, "now": now, "id": story}
    if verb == "review-complete":
        review_type = body.get("review_type")
        if not isinstance(review_type, str) or not 1 <= len(review_type) <= 100:
            raise Refused(422, "validation_error")
        await conn.execute(
            REVIEW,
            [caller.tenant, uuid.uuid4(), project, story, caller.agent, caller.key, review_type],
        )
    if verb == "verify":
        if not reviewed:
            raise Refused(409, "review_required")
        if criteria and required:
            raise Refused(422, "criteria_required")
        if reorders:
            # loopctl recomputes the project's claim order here (its Python graph code);
            # the benchmark verifies in dependency order, so the floor never needs to.
            raise Refused(500, "claim_order_refresh_not_in_floor")
        await conn.execute(
            VERDICT,
            [caller.tenant, uuid.uuid4(), project, story, caller.agent, body.get("summary"), story],
        )
    after = before
    if verb in UPDATES:
        update = f"UPDATE stories SET {UPDATES[verb]}, updated_at = now() WHERE id = %(id)s"
        cur = await conn.execute(f"{update} RETURNING {STATE}", params)
        row = await cur.fetchone()
        assert row is not None
        after = row
    await _audit(conn, caller, project, story, AUDIT_ACTIONS[verb], before, after)
    data = {"id": story, "agent_status": after[0], "verified_status": after[1],
            "lease_token": after[4]}  # fmt: skip
    return (201 if verb == "review-complete" else 200), data


class LoopFloorApp:
    def __init__(self, database_url: str, secret: bytes, *, max_size: int) -> None:
        self._conninfo = make_conninfo(
            database_url,
            application_name="loopctl-loop-floor",
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        self._secret = secret
        self._max_size = max_size
        self._pool: AsyncConnectionPool[Conn] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            status, data = await self._handle(scope, body)
            payload = orjson.dumps({"data": data}, default=str)
        except Refused as refused:
            status = refused.status
            error = {"status": status, "code": refused.code, "message": refused.code}
            payload = orjson.dumps({"error": error})
        headers = [*JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._pool = AsyncConnectionPool(
                    self._conninfo,
                    min_size=min(POOL_MIN_SIZE, self._max_size),
                    max_size=self._max_size,
                    name="loopctl-loop-floor",
                    open=False,
                    timeout=30.0,
                )
                await self._pool.open(wait=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, raw: bytes) -> tuple[int, Any]:
        path: str = scope["path"]
        if scope["method"] != "POST" or not path.startswith(PREFIX):
            raise Refused(404, "not_found")
        story, _, verb = path[len(PREFIX) :].partition("/")
        if not verb and story == "claim-next":
            story, verb = "", "claim-next"
        if verb not in ROLES:
            raise Refused(404, "not_found")
        handler: Callable[[Conn, Caller], Awaitable[tuple[int, Any]]]
        try:
            body = orjson.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError(body)
            story_id = str(uuid.UUID(story)) if story else ""
        except ValueError as exc:
            raise Refused(422, "validation_error") from exc
        token = _bearer(scope["headers"])
        if token is None:
            raise Refused(401, "unauthorized")
        digest = hmac.new(self._secret, token, hashlib.sha256).hexdigest()
        if verb == "claim-next":

            async def handler(conn: Conn, caller: Caller) -> tuple[int, Any]:
                return await claim_next(conn, caller, body)
        else:

            async def handler(conn: Conn, caller: Caller) -> tuple[int, Any]:
                return await transition(conn, caller, verb, story_id, body)

        assert self._pool is not None
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(RESOLVE, [digest])
            row = await cur.fetchone()
            if row is None or row[1] is None:
                raise Refused(401, "invalid_api_key")
            caller = Caller(row)
            if caller.role not in ROLES[verb]:
                raise Refused(403, "insufficient_role")
            if caller.agent is None:
                raise Refused(403, "agent_identity_required")
            return await handler(conn, caller)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the floor app for the loop benchmark.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = LoopFloorApp(
        os.environ["FLOOR_DATABASE_URL"],
        os.environ["FLOOR_SECRET_KEY"].encode(),
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
