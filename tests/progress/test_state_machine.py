"""Random sequences of transitions by several agents, orchestrators and a user.

After every step the trust rules are checked against the database itself: no implementer
ever reported, reviewed, verified or rejected its own story; verified means reported and
reviewed after the report (or backfilled by a human); lease tokens only grow; and the
audit log replays to each story's current state.
"""

from typing import Any
from uuid import UUID

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant, make_key
from tests.fixtures.http import audit_rows
from tests.fixtures.work import make_epic, make_project, make_story

VERBS = [
    "contract",
    "claim",
    "start",
    "request-review",
    "heartbeat",
    "unclaim",
    "report",
    "review-complete",
    "verify",
    "reject",
    "force-unclaim",
    "backfill",
]
BODIES: dict[str, dict[str, Any]] = {
    "review-complete": {"review_type": "code"},
    "reject": {"reason": "not yet"},
    "verify": {"summary": "checked"},
    "backfill": {"reason": "done before", "evidence": "git log"},
}
# Keys: agents 0-1, orchestrators 2-3, the user 4. Mostly the verb's natural callers, so
# that sequences get far along the loop; sometimes anyone, to exercise the refusals.
NATURAL = {
    "contract": [0, 1, 2],
    "claim": [0, 1],
    "start": [0, 1],
    "request-review": [0, 1],
    "heartbeat": [0, 1],
    "unclaim": [0, 1],
    "report": [0, 1, 2, 3],
    "review-complete": [2, 3, 4],
    "verify": [2, 3],
    "reject": [2, 3],
    "force-unclaim": [2, 3],
    "backfill": [4],
}


@st.composite
def random_step(draw: st.DrawFn) -> tuple[str, int, int, str | None]:
    verb = draw(st.sampled_from(VERBS))
    anyone = draw(st.integers(0, 5)) == 0
    who = draw(st.integers(0, 4) if anyone else st.sampled_from(NATURAL[verb]))
    token = draw(st.sampled_from([None, None, "current", "stale"]))
    return verb, who, draw(st.integers(0, 1)), token


@st.composite
def rounds(draw: st.DrawFn) -> list[tuple[str, int, int, str | None]]:
    """A few passes of the loop, each perturbed: steps replaced by random ones, random
    steps inserted, the verdict either verify or reject. Uniformly random steps alone
    rarely get a story past claim."""
    steps: list[tuple[str, int, int, str | None]] = []
    for _ in range(draw(st.integers(1, 4))):
        story = draw(st.integers(0, 1))
        implementer = draw(st.integers(0, 1))
        other = draw(st.sampled_from([1 - implementer, 2, 3]))
        verifier = draw(st.integers(2, 3))
        verdict = draw(st.sampled_from(["verify", "verify", "reject"]))
        loop = [
            ("contract", implementer),
            ("claim", implementer),
            ("start", implementer),
            ("request-review", implementer),
            ("report", other),
            ("review-complete", verifier),
            (verdict, verifier),
        ]
        for verb, who in loop:
            if draw(st.integers(0, 9)) == 0:
                steps.append(draw(random_step()))
            if draw(st.integers(0, 9)) == 0:
                continue
            steps.append((verb, who, story, draw(st.sampled_from([None, "current"]))))
    return steps


SELF_ACTIONS = {"review_completed", "verified", "rejected"}
_keys: dict[UUID, list[Key]] = {}


async def keys_of(runtime: Runtime, tenant: Tenant) -> list[Key]:
    if tenant.id not in _keys:
        made = [await make_key(runtime, tenant, r) for r in ("agent", "agent")]
        made += [await make_key(runtime, tenant, "orchestrator") for _ in range(2)]
        _keys[tenant.id] = [*made, tenant.user]
    return _keys[tenant.id]


async def story_rows(conn: Connection, tenant: Tenant, ids: list[UUID]) -> dict[UUID, Any]:
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    cur = await conn.execute(
        """
        SELECT s.id, s.agent_status, s.verified_status, s.assigned_agent_id, s.lease_token,
               s.reported_done_at, s.backfill IS NOT NULL,
               EXISTS (SELECT 1 FROM review_records r WHERE r.story_id = s.id
                         AND r.created_at > s.reported_done_at)
          FROM stories s WHERE s.id = ANY(%s)
        """,
        [ids],
    )
    return {row[0]: row[1:] for row in await cur.fetchall()}


async def check_invariants(
    conn: Connection, tenant: Tenant, ids: list[UUID], tokens: dict[UUID, int]
) -> None:
    rows = await story_rows(conn, tenant, ids)
    for story_id in ids:
        agent, verified, assignee, token, reported_at, backfilled, reviewed = rows[story_id]
        assert token >= tokens.get(story_id, 0), "a lease token went down"
        tokens[story_id] = token
        if verified == "verified":
            assert agent == "reported_done"
            assert backfilled or (reported_at is not None and reviewed)
        entries = await audit_rows(conn, tenant.id, entity_id=story_id)
        for entry in entries:
            before = entry.before or {}
            implementer = before.get("assigned_agent_id")
            transition = (entry.after or {}).get("transition")
            if entry.action in SELF_ACTIONS or transition == "report":
                assert implementer is None or implementer != str(entry.actor_agent_id)
        replayed = [e.after for e in entries if e.after and "lease_token" in e.after]
        if replayed:
            last = replayed[-1]
            assert (last["agent_status"], last["verified_status"]) == (agent, verified)
            assert last["assigned_agent_id"] == (None if assignee is None else str(assignee))
            assert last["lease_token"] == token


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=rounds())
async def test_random_sequences_keep_the_trust_rules(
    steps: list[tuple[str, int, int, str | None]],
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
) -> None:
    keys = await keys_of(runtime, tenant)
    epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
    stories = [await make_story(runtime, tenant, epic, f"1.{n}", title="S") for n in (1, 2)]
    ids = [s.id for s in stories]
    tokens: dict[UUID, int] = {}
    for verb, who, which, token_choice in steps:
        story_id = ids[which]
        body = dict(BODIES.get(verb, {}))
        if verb == "contract":
            body = {"story_title": "S", "ac_count": 0}
        if token_choice is not None and verb in ("start", "heartbeat", "unclaim"):
            current = tokens.get(story_id, 0)
            stale = token_choice == "stale" and current > 0
            body["lease_token"] = current - 1 if stale else current
        response = await client.post(
            f"/api/v1/stories/{story_id}/{verb}", json=body or None, headers=keys[who].headers
        )
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.json()["error"]["code"], response.text
        await check_invariants(conn, tenant, ids, tokens)
