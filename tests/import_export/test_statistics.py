"""A large import leaves the planner statistics claim-next is planned from.

Without them (a new server, autovacuum minutes away), claim-next walked every claim_order
row per call: seconds a claim with 32 agents after a 5,000-story import (migration 0014).
"""

import pytest

from loopctl.import_export.service import BULK
from tests.fixtures.database import Cluster, Urls, last_analyze
from tests.fixtures.factories import make_key, make_tenant
from tests.fixtures.http import API, client_for, committed_runtime, data_of
from tests.import_export.documents import document, epic, import_doc, story

pytestmark = pytest.mark.realdb


@pytest.mark.parametrize("size", [BULK - 1, BULK])
async def test_an_import_of_many_stories_without_edges_analyzes_what_claim_next_reads(
    fresh_db: Urls, cluster: Cluster, size: int
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        orchestrator = await make_key(runtime, tenant, "orchestrator")
        async with client_for(runtime) as client:
            project = data_of(
                await client.post(
                    f"{API}/projects",
                    json={"name": "Big", "slug": "big"},
                    headers=tenant.user.headers,
                ),
                201,
            )
            stories = [story(f"1.{n}") for n in range(1, size + 1)]
            response = await import_doc(
                client, orchestrator, project["id"], document(epic(1, *stories))
            )
            assert response.status_code in (200, 201), response.text
    analyzed = {table: last_analyze(fresh_db, table) is not None for table in TABLES}
    # Below the bulk size nothing is analyzed on the import's account (autovacuum's job).
    assert analyzed == dict.fromkeys(TABLES, size >= BULK)


TABLES = ("stories", "claim_order")
