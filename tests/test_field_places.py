"""Services name fields as the domain does; the REST edge says where each one came from."""

from uuid import uuid4

import httpx

from loopctl.platform.errors import UnprocessableEntity
from loopctl.platform.runtime import Runtime
from tests.epics.world import make_world
from tests.fixtures.factories import Tenant
from tests.fixtures.http import API, error_of, invalid


def test_a_domain_field_is_placed_by_the_edge_and_a_placed_one_is_kept() -> None:
    error = UnprocessableEntity.for_field("epic_number", "no epic number 9")
    assert error.details == {
        "errors": [{"field": "epic_number", "message": "no epic number 9", "type": "invalid"}]
    }
    error.located(lambda field: f"body.{field}")
    assert error.message == "body.epic_number: no epic number 9"
    assert error.details is not None
    assert error.details["errors"][0]["field"] == "body.epic_number"
    kept = UnprocessableEntity.for_field("query.sort", "cannot sort by 'x'")
    kept.located(lambda field: f"body.{field}")
    assert kept.message == "query.sort: cannot sort by 'x'"


async def test_a_body_field_named_by_a_service_is_placed_in_the_body(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.post(
        world.url("/projects/{project}/stories"),
        json={"epic_number": 9, "number": "9.1", "title": "Nowhere"},
        headers=tenant.user.headers,
    )
    invalid(response, "body.epic_number")
    assert error_of(response, 422, "validation_error")["message"].startswith("body.epic_number: ")


async def test_a_query_field_named_by_a_service_is_placed_in_the_query(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.get(
        f"{API}/stories/ready",
        params={"project_id": str(world.project.id), "epic_id": str(uuid4())},
        headers=tenant.user.headers,
    )
    invalid(response, "query.epic_id")
