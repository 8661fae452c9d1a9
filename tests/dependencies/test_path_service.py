"""The critical path of stored projects against the brute force of test_path_oracle.py:
random edges of both kinds, random statuses and estimates, through the real SQL."""

import itertools
import random

import pytest

from loopctl.database.connections import Connection
from loopctl.dependencies import graph_service, service
from loopctl.dependencies.schemas import EpicDependencyCreate, StoryDependencyCreate
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import World, build
from tests.dependencies.test_path_oracle import brute_force, waits_for
from tests.fixtures.factories import Tenant
from tests.fixtures.work import set_status

EPICS, STORIES = 4, 3
VERIFIED = ["unverified", "unverified", "rejected", "verified"]


async def _random_project(
    rng: random.Random, runtime: Runtime, tenant: Tenant, conn: Connection
) -> tuple[World, list[str], dict[str, float | None]]:
    layout = {e: [f"{e}.{s}" for s in range(1, STORIES + 1)] for e in range(1, EPICS + 1)}
    order = [n for e in layout for n in layout[e]]
    missing = rng.random() < 0.3  # then some story has no estimate: the path counts stories
    hours: dict[str, float | None] = {
        n: None if missing and rng.random() < 0.2 else rng.choice([1, 2, 5]) for n in order
    }
    estimates = {n: h for n, h in hours.items() if h is not None}
    w = await build(runtime, tenant, layout, hours=estimates)
    principal = tenant.principal()
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    for i, number in enumerate(order):  # edges only point backwards: no cycle
        for target in rng.sample(order[:i], k=min(i, rng.randrange(3))):
            body = StoryDependencyCreate(story_id=w.s(number), depends_on_story_id=w.s(target))
            await service.create_story_dependency(conn, principal, body)
    for e in range(2, EPICS + 1):
        if rng.random() < 0.6:
            body_e = EpicDependencyCreate(
                epic_id=w.e(e), depends_on_epic_id=w.e(rng.randrange(1, e))
            )
            await service.create_epic_dependency(conn, principal, body_e)
    for number in order:
        verified = rng.choice(VERIFIED)
        await set_status(
            conn, tenant, w.s(number), agent_status="pending", verified_status=verified
        )
    return w, order, hours


@pytest.mark.parametrize("seed", range(6))
async def test_the_critical_path_is_a_heaviest_chain_of_unverified_stories(
    runtime: Runtime, tenant: Tenant, conn: Connection, seed: int
) -> None:
    w, order, hours = await _random_project(random.Random(seed), runtime, tenant, conn)
    cur = await conn.execute(
        "SELECT id FROM stories WHERE project_id = %s AND verified_status <> 'verified'",
        [w.project.id],
    )
    open_ids = {row[0] for row in await cur.fetchall()}
    stories = [n for n in order if w.s(n) in open_ids]
    index = {n: i for i, n in enumerate(stories)}
    epic_numbers = sorted(w.epics)
    cur = await conn.execute(
        "SELECT story_id, depends_on_story_id FROM story_dependencies WHERE project_id = %s",
        [w.project.id],
    )
    by_id = {w.s(n): n for n in order}
    story_edges = [
        (index[by_id[a]], index[by_id[b]])
        for a, b in await cur.fetchall()
        if by_id[a] in index and by_id[b] in index
    ]
    cur = await conn.execute(
        "SELECT epic_id, depends_on_epic_id FROM epic_dependencies WHERE project_id = %s",
        [w.project.id],
    )
    epic_by_id = {w.e(k): k for k in epic_numbers}
    epic_edges = [(epic_by_id[a], epic_by_id[b]) for a, b in await cur.fetchall()]
    epic_of = [int(n.split(".")[0]) for n in stories]
    counted = any(hours[n] is None for n in stories)
    weights = [1.0 if counted else float(hours[n] or 0) for n in stories]
    direct = waits_for(epic_of, story_edges, epic_edges)

    path = await graph_service.critical_path(conn, tenant.principal(), w.project.id)

    assert path.weight == ("count" if counted else "hours")
    assert path.total == brute_force(weights, direct)
    chain = [index[s.number] for s in path.stories]
    assert sum(weights[i] for i in chain) == path.total
    assert all(a in direct[b] for a, b in itertools.pairwise(chain))
    assert all(s.verified_status != "verified" for s in path.stories)
