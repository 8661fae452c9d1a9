"""audit_log.event (migration 0013): each event's JSON, written once by the database.

The feed serves the stored JSON; rows from before the migration have none and are written
by the same SQL function as they are read; no insert can store anything else.
"""

import json
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from loopctl.database.connections import tenant_transaction
from tests.changes.test_feed import AWKWARD
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import make_key, make_tenant
from tests.fixtures.http import API, client_for, committed_runtime, data_of

pytestmark = pytest.mark.realdb

COLUMNS = (
    "tenant_id, project_id, entity_type, entity_id, action, actor_key_id, actor_agent_id,"
    " actor_role, actor_label, before, after, request_id"
)


def _as_before_0013(owner_url: str, tenant: UUID, source: UUID) -> UUID:
    """A copy of one entry written as rows were before migration 0013: no stored event."""
    copy = uuid4()
    with psycopg.connect(owner_url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant)])
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_event")
        conn.execute(
            f"INSERT INTO audit_log (id, {COLUMNS}) SELECT %s, {COLUMNS}"
            " FROM audit_log WHERE id = %s",
            [copy, source],
        )
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_event")
        stored = conn.execute("SELECT event FROM audit_log WHERE id = %s", [copy]).fetchone()
        assert stored == (None,)
    return copy


async def test_stored_and_computed_events_are_the_audit_entries(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        orchestrator = await make_key(runtime, tenant, "orchestrator")
        async with client_for(runtime) as client:
            body = {"event_type": "awkward", "summary": "stored", "data": AWKWARD}
            posted = data_of(
                await client.post(f"{API}/audit/events", json=body, headers=orchestrator.headers),
                201,
            )
            source = UUID(posted["id"])
            copy = _as_before_0013(fresh_db.owner, tenant.id, source)
            feed = (await client.get(f"{API}/changes", headers=orchestrator.headers)).json()
            audit = (await client.get(f"{API}/audit", headers=tenant.user.headers)).json()
    entries: dict[str, dict[str, Any]] = {e["id"]: e for e in audit["data"]}
    events: dict[str, dict[str, Any]] = {e["id"]: e for e in feed["data"]}
    assert {str(source), str(copy)} <= events.keys()
    # Both, the stored and the computed, are the audit entry key for key, plus the cursor.
    for event_id in (str(source), str(copy)):
        event = dict(events[event_id])
        cursor = event.pop("cursor")
        assert list(event.items()) == list(entries[event_id].items())
        assert cursor.endswith("." + event_id.replace("-", ""))
    assert events[str(copy)]["after"]["data"] == AWKWARD
    # Every stored event is what the function writes for its row, byte for byte.
    with psycopg.connect(fresh_db.owner) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
        mismatched = conn.execute(
            "SELECT count(*) FROM audit_log a WHERE a.event IS DISTINCT FROM"
            " loopctl_audit_event(a) AND a.id <> %s",
            [copy],
        ).fetchone()
    assert mismatched == (0,)


async def test_no_insert_stores_an_event_of_its_own(fresh_db: Urls, cluster: Cluster) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        entry = uuid4()
        async with tenant_transaction(runtime.connections, tenant.id) as conn:
            await conn.execute(
                "INSERT INTO audit_log (tenant_id, id, entity_type, entity_id, action,"
                " actor_role, actor_label, event)"
                " VALUES (%s, %s, 'story', %s, 'verified', 'agent', 'forger', %s)",
                [tenant.id, entry, uuid4(), '{"forged": true}'],
            )
            cur = await conn.execute("SELECT event FROM audit_log WHERE id = %s", [entry])
            found = await cur.fetchone()
    assert found is not None
    event = json.loads(found[0])
    assert event["id"] == str(entry)
    assert event["actor_label"] == "forger"
    assert "forged" not in event
