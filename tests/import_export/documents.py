"""Documents and calls shared by the import/export tests."""

from typing import Any
from uuid import UUID

import httpx

from tests.fixtures.factories import Key
from tests.fixtures.http import API

FORMAT = "loopctl.project.v1"


def story(number: str, *depends_on: str, **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": f"Story {number}", "depends_on": list(depends_on), **extra}


def epic(number: int, *stories: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": f"Epic {number}", "stories": list(stories), **extra}


def document(*epics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"format": FORMAT, "epics": list(epics), **extra}


def plan() -> dict[str, Any]:
    """Two epics; 2 waits for 1; 2.1 waits for 1.2 and 2.2 for 2.1."""
    return document(
        epic(
            1,
            story("1.1", acceptance_criteria=[{"criterion": "it works"}], estimated_hours=2.5),
            story("1.2", "1.1"),
        ),
        epic(2, story("2.1", "1.2"), story("2.2", "2.1"), depends_on=[1]),
    )


async def import_doc(
    client: httpx.AsyncClient,
    key: Key,
    project_id: UUID | str,
    doc: dict[str, Any],
    **params: str,
) -> httpx.Response:
    return await client.post(
        f"{API}/projects/{project_id}/import", json=doc, headers=key.headers, params=params
    )


async def export_doc(client: httpx.AsyncClient, key: Key, project_id: UUID | str) -> Any:
    response = await client.get(f"{API}/projects/{project_id}/export", headers=key.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]
