"""Acceptance criteria: a list of {id, criterion} whose ids stay put across changes."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from loopctl.stories.criteria import MAX_CRITERIA
from tests.epics.world import World, make_world
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import audit_rows, data_of, invalid


async def create(client: httpx.AsyncClient, world: World, key: Key, criteria: list[Any]) -> Any:
    body = {"number": "1.2", "title": "With criteria", "acceptance_criteria": criteria}
    response = await client.post(world.url("/epics/{epic}/stories"), json=body, headers=key.headers)
    return data_of(response, 201)


async def patch(
    client: httpx.AsyncClient, story: Any, world: World, key: Key, criteria: list[Any]
) -> Any:
    response = await client.patch(
        world.url("/stories/{story}", story=story["id"]),
        json={"acceptance_criteria": criteria},
        headers=key.headers,
    )
    return data_of(response)["acceptance_criteria"]


async def test_ids_are_given_in_order_and_kept_when_sent(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    story = await create(
        client,
        world,
        user_key,
        [
            {"criterion": "Loads in 1 s"},
            {"id": "AC-7", "criterion": "Works offline"},
            {"id": "sso", "criterion": "Signs in with SSO"},
            {"description": "Alias of criterion"},
        ],
    )
    assert story["acceptance_criteria"] == [
        {"id": "AC-8", "criterion": "Loads in 1 s"},
        {"id": "AC-7", "criterion": "Works offline"},
        {"id": "sso", "criterion": "Signs in with SSO"},
        {"id": "AC-9", "criterion": "Alias of criterion"},
    ]


async def test_resending_without_ids_keeps_them_and_changes_nothing(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    texts = ["First", "Second", "Third"]
    story = await create(client, world, user_key, [{"criterion": t} for t in texts])
    assert [c["id"] for c in story["acceptance_criteria"]] == ["AC-1", "AC-2", "AC-3"]

    same = await patch(client, story, world, user_key, [{"criterion": t} for t in texts])
    assert same == story["acceptance_criteria"]
    rows = await audit_rows(conn, tenant.id, entity_type="story", entity_id=story["id"])
    assert [r.action for r in rows] == ["created"]

    # Reordered, one edited, one removed, one added: unchanged texts keep their ids and
    # new texts get numbers never used on this list.
    changed = await patch(
        client,
        story,
        world,
        user_key,
        [{"criterion": "Third"}, {"criterion": "First, reworded"}, {"criterion": "First"}],
    )
    assert changed == [
        {"id": "AC-3", "criterion": "Third"},
        {"id": "AC-4", "criterion": "First, reworded"},
        {"id": "AC-1", "criterion": "First"},
    ]
    # Editing a text in place keeps its id when the id is sent.
    edited = await patch(
        client,
        story,
        world,
        user_key,
        [{"id": "AC-4", "criterion": "Reworded again"}, *changed[::2]],
    )
    assert edited == [{"id": "AC-4", "criterion": "Reworded again"}, changed[0], changed[2]]
    rows = await audit_rows(conn, tenant.id, entity_type="story", entity_id=story["id"])
    assert [r.action for r in rows] == ["created", "updated", "updated"]
    assert rows[-1].after is not None
    assert rows[-1].after["acceptance_criteria"] == edited


async def test_identical_texts_keep_distinct_ids(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    story = await create(client, world, user_key, [{"criterion": "Same"}, {"criterion": "Same"}])
    assert [c["id"] for c in story["acceptance_criteria"]] == ["AC-1", "AC-2"]
    again = await patch(
        client,
        story,
        world,
        user_key,
        [{"criterion": "Same"}, {"criterion": "Same"}, {"criterion": "Same"}],
    )
    assert [c["id"] for c in again] == ["AC-1", "AC-2", "AC-3"]


async def test_an_empty_list_clears_the_criteria(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    story = await create(client, world, user_key, [{"criterion": "Gone soon"}])
    assert await patch(client, story, world, user_key, []) == []


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        (
            [{"id": "a", "criterion": "x"}, {"id": "a", "criterion": "y"}],
            "body.acceptance_criteria[1].id",
        ),
        (["plain text"], "body.acceptance_criteria[0]"),
        ([{"criterion": ""}], "body.acceptance_criteria[0].criterion"),
        ([{"criterion": "  "}], "body.acceptance_criteria[0].criterion"),
        ([{"criterion": "x" * 2001}], "body.acceptance_criteria[0].criterion"),
        ([{"criterion": "ok"}, {"criterion": "nul\x00"}], "body.acceptance_criteria[1].criterion"),
        ([{"id": "has space", "criterion": "x"}], "body.acceptance_criteria[0].id"),
        ([{"id": "", "criterion": "x"}], "body.acceptance_criteria[0].id"),
        ([{"id": "x" * 51, "criterion": "x"}], "body.acceptance_criteria[0].id"),
        ([{"id": True, "criterion": "x"}], "body.acceptance_criteria[0].id"),
        ([{"id": 5.5, "criterion": "x"}], "body.acceptance_criteria[0].id"),
        ([{"criterion": "x", "done": True}], "body.acceptance_criteria[0].done"),
        ([{}], "body.acceptance_criteria[0].criterion"),
        ([{"criterion": f"c{n}"} for n in range(MAX_CRITERIA + 1)], "body.acceptance_criteria"),
        ({"criterion": "not a list"}, "body.acceptance_criteria"),
        (None, "body.acceptance_criteria"),
    ],
)
async def test_bad_criteria_are_rejected_by_field(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    criteria: Any,
    field: str,
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.patch(
        world.url("/stories/{story}"),
        json={"acceptance_criteria": criteria},
        headers=user_key.headers,
    )
    invalid(response, field)
    assert len(await audit_rows(conn, tenant.id, entity_type="story")) == 1
    if criteria is not None:
        create_response = await client.post(
            world.url("/epics/{epic}/stories"),
            json={"number": "1.3", "title": "x", "acceptance_criteria": criteria},
            headers=user_key.headers,
        )
        invalid(create_response, field)
