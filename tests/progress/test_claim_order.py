"""claim-next's order: critical path first, then unblocks count, then epic position and
number, then story number (docs/progress.md). Each test would fail under the earlier
order (most direct dependents first)."""

from typing import Any
from uuid import UUID

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import World, build, link
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of

NEXT = f"{API}/stories/claim-next"


async def claimed_in_order(
    client: httpx.AsyncClient, agent: Key, w: World, body: dict[str, Any] | None = None
) -> list[str]:
    """Call claim-next until nothing is left; the story numbers in the order taken."""
    names = {story.id: number for number, story in w.stories.items()}
    body = body or {"project_id": str(w.project.id)}
    taken = []
    while (response := await client.post(NEXT, json=body, headers=agent.headers)).is_success:
        taken.append(names[UUID(data_of(response)["id"])])
    error_of(response, 404, "no_ready_story")
    return taken


async def test_the_critical_path_beats_more_direct_dependents(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    # 1.1 has three dependents (a chain of 2 stories); 2.1 one, but heads a chain of 4.
    layout = {1: ["1.1", "1.2", "1.3", "1.4"], 2: ["2.1", "2.2", "2.3", "2.4"]}
    w = await build(runtime, tenant, layout)
    fan = [("1.2", "1.1"), ("1.3", "1.1"), ("1.4", "1.1")]
    await link(client, tenant.user, w, [*fan, ("2.2", "2.1"), ("2.3", "2.2"), ("2.4", "2.3")])
    assert await claimed_in_order(client, agent_key, w) == ["2.1", "1.1"]


async def test_ties_go_to_unblocks_count_then_epic_position_and_number_then_story_number(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    # Epic 1 is last by position; epics 2 and 3 share a position, so 2 comes before 3.
    layout = {
        1: ["1.1", "1.2", "1.3", "1.4", "1.5"],
        2: ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.9", "2.10"],
        3: ["3.1", "3.2", "3.3", "3.4"],
    }
    w = await build(runtime, tenant, layout, positions={1: 2, 2: 1, 3: 1})
    edges = [
        ("1.2", "1.1"), ("1.3", "1.2"), ("1.4", "1.3"),  # 1.1 heads a chain of 4
        ("2.2", "2.1"), ("2.3", "2.1"), ("2.4", "2.1"),  # 2.1: chain 2, unblocks 3
        ("2.6", "2.5"), ("2.7", "2.5"),  # 2.5: chain 2, unblocks 2
        ("3.2", "3.1"), ("3.3", "3.1"),  # 3.1: the same as 2.5, in a later epic
    ]  # fmt: skip
    await link(client, tenant.user, w, edges)
    taken = await claimed_in_order(client, agent_key, w)
    # Then the stories nothing waits for: epic 2 (number order: 2.9 before 2.10), 3, 1.
    assert taken == ["1.1", "2.1", "2.5", "3.1", "2.9", "2.10", "3.4", "1.5"]


async def test_an_epic_asked_for_is_taken_in_the_same_order(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2", "1.3", "1.4", "1.5"], 2: ["2.1"]})
    await link(client, tenant.user, w, [("1.3", "1.2"), ("1.4", "1.3"), ("1.5", "1.1")])
    body = {"epic_id": str(w.e(1))}
    assert await claimed_in_order(client, agent_key, w, body) == ["1.2", "1.1"]


async def test_chains_weigh_hours_when_every_story_has_an_estimate(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    # By hours 1.1 (8 h) outweighs the chain 1.2 -> 1.3 (2 h); counted, the chain wins.
    hours = {"1.1": 8.0, "1.2": 1.0, "1.3": 1.0}
    w = await build(runtime, tenant, {1: ["1.1", "1.2", "1.3"]}, hours=hours)
    await link(client, tenant.user, w, [("1.3", "1.2")])
    path = data_of(
        await client.get(f"{API}/projects/{w.project.id}/critical_path", headers=agent_key.headers)
    )
    assert [s["number"] for s in path["stories"]] == ["1.1"]
    assert await claimed_in_order(client, agent_key, w) == ["1.1", "1.2"]


async def test_chains_count_stories_when_one_has_no_estimate(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    hours = {"1.1": 8.0, "1.2": 1.0}
    w = await build(runtime, tenant, {1: ["1.1", "1.2", "1.3"]}, hours=hours)
    await link(client, tenant.user, w, [("1.3", "1.2")])
    path = data_of(
        await client.get(f"{API}/projects/{w.project.id}/critical_path", headers=agent_key.headers)
    )
    assert [s["number"] for s in path["stories"]] == ["1.2", "1.3"]
    assert await claimed_in_order(client, agent_key, w) == ["1.2", "1.1"]


async def test_claim_next_takes_over_an_expired_lease_first_in_claim_order(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    other_agent: Key,
) -> None:
    # 1.1 heads the longest chain; its first holder's lease runs out, so the next
    # claim-next takes it over (before 2.1) and the log says so, entry by entry.
    w = await build(runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1"]})
    await link(client, tenant.user, w, [("1.2", "1.1")])
    body = {"project_id": str(w.project.id)}
    first = data_of(await client.post(NEXT, json=body, headers=agent_key.headers))
    assert first["id"] == str(w.s("1.1"))
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    await conn.execute(
        "UPDATE stories SET lease_expires_at = now() - interval '1 minute' WHERE id = %s",
        [w.s("1.1")],
    )
    taken = data_of(await client.post(NEXT, json=body, headers=other_agent.headers))
    assert (taken["id"], taken["lease"]["token"]) == (str(w.s("1.1")), 2)
    rows = await audit_rows(conn, tenant.id, entity_id=w.s("1.1"))
    assert [(r.action, (r.after or {}).get("transition")) for r in rows[-2:]] == [
        ("lease_expired", None),
        ("status_changed", "claim"),
    ]
    assert rows[-1].before == rows[-2].before
    assert (rows[-1].before or {}).get("assigned_agent_id") == str(agent_key.agent_id)
