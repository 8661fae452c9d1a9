"""The reference's parameters on story lists."""

import httpx

from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, data_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story


async def test_story_lists_accept_include_token_totals_and_report_no_unknown_totals(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    await make_story(runtime, tenant, epic, "1.1")
    for url, params in (
        (f"{API}/stories", {"project_id": str(project.id)}),
        (f"{API}/epics/{epic.id}/stories", {}),
    ):
        plain = (await client.get(url, params=params, headers=agent_key.headers)).json()
        asked = await client.get(
            url, params={**params, "include_token_totals": "true"}, headers=agent_key.headers
        )
        # No token usage is recorded yet: no token fields at all, never a made-up 0.
        assert asked.json() == plain
        [item] = data_of(asked)
        assert not [k for k in item if "token" in k or "cost" in k]
        assert plain["meta"]["total_count"] == plain["meta"]["total"] == 1
        bad = {**params, "include_token_totals": "sometimes"}
        invalid(
            await client.get(url, params=bad, headers=agent_key.headers),
            "query.include_token_totals",
        )
