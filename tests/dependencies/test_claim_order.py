"""The stored claim order stays true to the graph after every kind of change.

Random sequences of the changes that move it (dependency edits, story create, delete and
estimate edits, epic moves, verifications out of dependency order and undone), each
through its service, and after each one the claim_order rows compared with a from-scratch
brute force over the raw tables."""

import random
from decimal import Decimal
from functools import cache
from uuid import UUID

import httpx
import pytest

from loopctl.auth.principal import Principal
from loopctl.auth.roles import Role
from loopctl.database import schema
from loopctl.database.connections import Connection, create_pool, tenant_transaction
from loopctl.dependencies import service as dependencies
from loopctl.dependencies.schemas import EpicDependencyCreate, StoryDependencyCreate
from loopctl.epics import service as epics
from loopctl.epics.schemas import EpicUpdate
from loopctl.platform.errors import AppError
from loopctl.platform.runtime import Runtime
from loopctl.progress import records
from loopctl.progress import service as progress
from loopctl.progress.schemas import BackfillIn, RejectIn
from loopctl.stories import service as stories
from loopctl.stories.schemas import StoryCreate, StoryUpdate
from tests.dependencies.helpers import World, build
from tests.fixtures.app import SECRET, make_settings
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key as ApiKey
from tests.fixtures.factories import Tenant, make_key, make_tenant
from tests.fixtures.http import data_of
from tests.fixtures.work import make_project
from tests.import_export.documents import document, epic, import_doc, plan, story

Order = tuple[float, int, int, int, list[int], UUID]


async def expected(conn: Connection, project: UUID) -> dict[UUID, Order]:
    """(chain, unblocks, epic position, epic number, number, epic) of every unverified
    story, computed from the stories and edges as the definition says."""
    cur = await conn.execute(
        "SELECT s.id, s.epic_id, s.estimated_hours, e.position, e.number, s.number_sort"
        "  FROM stories s JOIN epics e ON e.id = s.epic_id"
        " WHERE s.project_id = %s AND s.verified_status <> 'verified'",
        [project],
    )
    rows = {r[0]: r[1:] for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT story_id, depends_on_story_id FROM story_dependencies WHERE project_id = %s",
        [project],
    )
    waiting: dict[UUID, set[UUID]] = {s: set() for s in rows}
    for a, b in await cur.fetchall():
        if a in rows and b in rows:
            waiting[b].add(a)
    cur = await conn.execute(
        "SELECT epic_id, depends_on_epic_id FROM epic_dependencies WHERE project_id = %s",
        [project],
    )
    for a_epic, b_epic in await cur.fetchall():
        for b, (of_b, *_) in rows.items():
            if of_b == b_epic:
                waiting[b] |= {a for a, (other, *_) in rows.items() if other == a_epic}
    hours = all(r[1] is not None for r in rows.values())

    @cache
    def chain(story: UUID) -> Decimal:
        own = rows[story][1] if hours else Decimal(1)
        return own + max((chain(w) for w in waiting[story]), default=Decimal(0))

    return {
        s: (float(chain(s)), len(waiting[s]), r[2], r[3], list(r[4]), r[0]) for s, r in rows.items()
    }


async def stored(conn: Connection, project: UUID) -> dict[UUID, Order]:
    cur = await conn.execute(
        "SELECT o.story_id, o.chain, o.unblocks, o.epic_position, o.epic_number,"
        "       o.number_sort, o.epic_id"
        "  FROM claim_order o JOIN stories s ON s.id = o.story_id"
        " WHERE o.project_id = %s AND s.verified_status <> 'verified' AND NOT o.verified",
        [project],
    )
    return {r[0]: (r[1], r[2], r[3], r[4], list(r[5]), r[6]) for r in await cur.fetchall()}


async def flags_agree(conn: Connection, project: UUID) -> bool:
    cur = await conn.execute(
        "SELECT bool_and(o.verified = (s.verified_status = 'verified'))"
        "  FROM claim_order o JOIN stories s ON s.id = o.story_id WHERE o.project_id = %s",
        [project],
    )
    row = await cur.fetchone()
    return row is not None and row[0] is not False


class Changes:
    """One random change at a time, each through the service a client would reach."""

    def __init__(self, rng: random.Random, conn: Connection, tenant: Tenant, w: World) -> None:
        self.rng, self.conn, self.w = rng, conn, w
        self.user = tenant.principal()
        self.orchestrator = self.user  # replaced by the test with a bound orchestrator
        self.order = list(w.stories)  # edges only point to earlier stories: no cycle
        self.story_edges: list[UUID] = []
        self.epic_edges: list[UUID] = []
        self.created = 0

    async def add_story_edge(self) -> None:
        i = self.rng.randrange(1, len(self.order))
        a, b = self.order[i], self.rng.choice(self.order[:i])
        body = StoryDependencyCreate(story_id=self.w.s(a), depends_on_story_id=self.w.s(b))
        async with self.conn.transaction(savepoint_name="edge"):
            try:
                row = await dependencies.create_story_dependency(self.conn, self.user, body)
            except AppError:  # an existing edge, or one an epic edge contradicts
                return
        self.story_edges.append(row.id)

    async def add_epic_edge(self) -> None:
        numbers = sorted(self.w.epics)
        i = self.rng.randrange(1, len(numbers))
        body = EpicDependencyCreate(
            epic_id=self.w.e(numbers[i]), depends_on_epic_id=self.w.e(numbers[i - 1])
        )
        async with self.conn.transaction(savepoint_name="epic_edge"):
            try:
                row = await dependencies.create_epic_dependency(self.conn, self.user, body)
            except AppError:  # it exists, or a story edge contradicts it
                return
        self.epic_edges.append(row.id)

    async def remove_edge(self) -> None:
        if self.story_edges and self.rng.random() < 0.7:
            edge = self.story_edges.pop(self.rng.randrange(len(self.story_edges)))
            await dependencies.delete_story_dependency(self.conn, self.user, edge)
        elif self.epic_edges:
            edge = self.epic_edges.pop(self.rng.randrange(len(self.epic_edges)))
            await dependencies.delete_epic_dependency(self.conn, self.user, edge)

    async def create_story(self) -> None:
        self.created += 1
        epic = self.rng.choice(sorted(self.w.epics))
        number = f"{epic}.{50 + self.created}"
        hours = self.rng.choice([None, Decimal(2), Decimal("0.5")])
        body = StoryCreate(number=number, title=number, estimated_hours=hours)
        row = await stories.create(self.conn, self.user, self.w.e(epic), body)
        self.w.stories[number] = row
        self.order.append(number)

    async def delete_story(self) -> None:
        if len(self.order) > 3:
            number = self.order.pop(self.rng.randrange(len(self.order)))
            await stories.delete(self.conn, self.user, self.w.s(number))
            del self.w.stories[number]
            # Its edges went with it; forget the ids so that no removal names them.
            live = await self.conn.execute("SELECT id FROM story_dependencies")
            ids = {r[0] for r in await live.fetchall()}
            self.story_edges = [e for e in self.story_edges if e in ids]

    async def estimate(self) -> None:
        number = self.rng.choice(self.order)
        hours = self.rng.choice([None, Decimal(1), Decimal(3), Decimal("1.25")])
        body = StoryUpdate.model_validate({"estimated_hours": hours})
        await stories.update(self.conn, self.user, self.w.s(number), body)

    async def move_epic(self) -> None:
        epic = self.rng.choice(sorted(self.w.epics))
        body = EpicUpdate(position=self.rng.randrange(5))
        await epics.update(self.conn, self.user, self.w.e(epic), body)

    async def backfill(self) -> None:
        # Verified out of dependency order, possibly: its prerequisites may be unverified.
        number = self.rng.choice(self.order)
        body = BackfillIn(reason="done before loopctl", evidence="tests passed")
        async with self.conn.transaction(savepoint_name="backfill"):
            try:
                await records.backfill(self.conn, self.user, self.w.s(number), body)
            except AppError:  # claimed once, or verified already
                return

    async def undo(self) -> None:
        cur = await self.conn.execute(
            "SELECT id FROM stories WHERE project_id = %s AND verified_status = 'verified'"
            " ORDER BY id",
            [self.w.project.id],
        )
        verified = [r[0] for r in await cur.fetchall()]
        if verified:
            story = self.rng.choice(verified)
            body = RejectIn(reason="it was not done after all")
            await progress.reject(self.conn, self.orchestrator, story, body)


@pytest.mark.parametrize("seed", range(6))
async def test_the_claim_order_matches_a_from_scratch_computation_after_every_change(
    runtime: Runtime, tenant: Tenant, conn: Connection, seed: int
) -> None:
    rng = random.Random(seed)
    layout = {e: [f"{e}.{s}" for s in range(1, 4)] for e in range(1, 4)}
    hours = {n: float(rng.choice([1, 2, 5])) for e in layout.values() for n in e}
    if seed % 2:
        hours.pop("2.2")  # one story without an estimate: weights are counts
    w = await build(runtime, tenant, layout, hours=hours)
    key = await make_key(runtime, tenant, "orchestrator")
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    changes = Changes(rng, conn, tenant, w)
    changes.orchestrator = Principal(
        tenant_id=tenant.id, role=Role.orchestrator, label="o", key_id=key.id,
        agent_id=key.agent_id,
    )  # fmt: skip
    actions = [
        changes.add_story_edge, changes.add_story_edge, changes.add_epic_edge,
        changes.remove_edge, changes.create_story, changes.delete_story, changes.estimate,
        changes.move_epic, changes.backfill, changes.backfill, changes.undo,
    ]  # fmt: skip
    assert await stored(conn, w.project.id) == await expected(conn, w.project.id)
    for _ in range(30):
        action = rng.choice(actions)
        await action()
        assert await stored(conn, w.project.id) == await expected(conn, w.project.id), action
        assert await flags_agree(conn, w.project.id)


async def test_verifying_the_last_story_without_an_estimate_weighs_chains_in_hours(
    runtime: Runtime, tenant: Tenant, conn: Connection
) -> None:
    # 1.2 has no estimate and waits for nothing: verifying it is in dependency order, yet
    # the weights become hours (1.1's chain goes from 1 story to 5 hours).
    w = await build(runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1"]}, hours={"1.1": 5, "2.1": 1})
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    assert (await stored(conn, w.project.id))[w.s("1.1")][0] == 1
    body = BackfillIn(reason="done before loopctl", evidence="tests passed")
    await records.backfill(conn, tenant.principal(), w.s("1.2"), body)
    assert (await stored(conn, w.project.id))[w.s("1.1")][0] == 5
    assert await stored(conn, w.project.id) == await expected(conn, w.project.id)


async def test_an_import_writes_the_claim_order_and_a_merge_rewrites_it(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: ApiKey
) -> None:
    project = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, project.id, plan()))
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    first = await stored(conn, project.id)
    assert len(first) == 4
    assert first == await expected(conn, project.id)
    # A merge that moves epic 1, adds 1.3 and a story imported as verified waiting for it.
    merged = document(
        epic(1, story("1.1"), story("1.2", "1.1"), story("1.3", "1.2"), position=3),
        epic(
            2,
            story("2.1", "1.2"),
            story("2.2", "2.1"),
            story("2.3", "1.3", agent_status="reported_done", verified_status="verified"),
            depends_on=[1],
        ),
    )
    data_of(await import_doc(client, user_key, project.id, merged, merge="true"))
    assert await stored(conn, project.id) == await expected(conn, project.id)
    assert await flags_agree(conn, project.id)


@pytest.mark.realdb
async def test_migration_0012_computes_the_claim_order_of_stories_already_there(
    fresh_db: Urls, cluster: Cluster
) -> None:
    pool = create_pool(fresh_db.app, name="claim-order-migration", min_size=1, max_size=2)
    await pool.open()
    try:
        runtime = Runtime.build(make_settings(fresh_db, cluster), pool, SECRET.encode())
        tenant = await make_tenant(runtime)
        w = await build(runtime, tenant, {1: ["1.1", "1.2", "1.3"], 2: ["2.1", "2.2"]})
        async with tenant_transaction(pool, tenant.id) as conn:
            for a, b in [("1.2", "1.1"), ("1.3", "1.2"), ("2.2", "2.1")]:
                body = StoryDependencyCreate(story_id=w.s(a), depends_on_story_id=w.s(b))
                await dependencies.create_story_dependency(conn, tenant.principal(), body)
            before = await stored(conn, w.project.id)
        # Back to 0011 (the table goes) and up again: the migration computes it afresh.
        schema.downgrade(fresh_db.owner, cluster.roles, "0011")
        schema.upgrade(fresh_db.owner, cluster.roles)
        async with tenant_transaction(pool, tenant.id) as conn:
            after = await stored(conn, w.project.id)
            assert after == before == await expected(conn, w.project.id)
            assert after[w.s("1.1")][:2] == (3.0, 1)
    finally:
        await pool.close()
