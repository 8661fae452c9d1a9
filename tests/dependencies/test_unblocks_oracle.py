"""unblocks_count checked against its definition on random graphs: verify the story (inside
a savepoint) and count the stories that join the ready list."""

import random
from uuid import UUID

import pytest

from loopctl.database.connections import Connection
from loopctl.dependencies import graph_repository, service
from loopctl.dependencies.schemas import EpicDependencyCreate, StoryDependencyCreate
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import World, build
from tests.fixtures.factories import Tenant
from tests.fixtures.work import set_status

EPICS, STORIES = 4, 3
STATUSES = [
    ("pending", "unverified"),
    ("pending", "unverified"),
    ("pending", "rejected"),
    ("implementing", "unverified"),
    ("reported_done", "rejected"),
    ("reported_done", "verified"),
]


async def _ready(conn: Connection, w: World) -> set[UUID]:
    rows, _ = await graph_repository.work_page(
        conn, blocked=False, project_id=w.project.id, epic_id=None, limit=500, offset=0
    )
    return {r.id for r in rows}


async def _random_graph(
    rng: random.Random, runtime: Runtime, tenant: Tenant, conn: Connection
) -> World:
    layout = {e: [f"{e}.{s}" for s in range(1, STORIES + 1)] for e in range(1, EPICS + 1)}
    w = await build(runtime, tenant, layout)
    order = [n for e in layout for n in layout[e]]  # edges only point backwards: no cycle
    principal = tenant.principal()
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    for i, number in enumerate(order):
        for target in rng.sample(order[:i], k=min(i, rng.randrange(3))):
            body = StoryDependencyCreate(story_id=w.s(number), depends_on_story_id=w.s(target))
            await service.create_story_dependency(conn, principal, body)
    for e in range(2, EPICS + 1):
        if rng.random() < 0.5:
            earlier = rng.randrange(1, e)
            body_e = EpicDependencyCreate(epic_id=w.e(e), depends_on_epic_id=w.e(earlier))
            await service.create_epic_dependency(conn, principal, body_e)
    for number in order:
        agent, verified = rng.choice(STATUSES)
        await set_status(conn, tenant, w.s(number), agent_status=agent, verified_status=verified)
    return w


@pytest.mark.parametrize("seed", range(8))
async def test_unblocks_count_is_how_many_stories_verifying_it_makes_ready(
    runtime: Runtime, tenant: Tenant, conn: Connection, seed: int
) -> None:
    w = await _random_graph(random.Random(seed), runtime, tenant, conn)
    ids = list(w.stories.values())
    counts = await graph_repository.unblocks_counts(conn, [s.id for s in ids])
    before = await _ready(conn, w)
    expected = {}
    for story in ids:
        async with conn.transaction(force_rollback=True):
            await set_status(conn, tenant, story.id)
            expected[story.id] = len(await _ready(conn, w) - before)
    assert counts == expected
