"""Export, import into an empty project, export again: the same document, for any project."""

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopctl.import_export.schemas import ProjectDocument
from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import data_of
from tests.fixtures.work import make_project
from tests.import_export.documents import FORMAT, export_doc, import_doc

text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=20,
).filter(lambda t: t.strip() == t)
optional_text = st.none() | text
metadata = st.dictionaries(
    st.text(max_size=5).filter(lambda k: "\x00" not in k),
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    max_size=3,
)
hours = st.none() | st.integers(0, 99_999).map(lambda cents: cents / 100)
progress = st.sampled_from(
    [
        ("pending", "unverified"),
        ("reported_done", "unverified"),
        ("reported_done", "verified"),
        ("reported_done", "rejected"),
    ]
)


@st.composite
def projects(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document: every edge points to something earlier in one order (epics by
    index, then stories by index), so the expanded graph is acyclic by construction."""
    epic_numbers = draw(st.lists(st.integers(1, 40), min_size=0, max_size=4, unique=True))
    order: list[str] = []
    epics = []
    for index, number in enumerate(epic_numbers):
        parts = draw(st.lists(st.integers(0, 12), max_size=4, unique=True))
        stories = []
        for part in parts:
            story_number = f"{number}.{part}"
            agent, verified = draw(progress)
            earlier = draw(st.lists(st.sampled_from(order), unique=True)) if order else []
            criteria = draw(st.lists(text, max_size=2, unique=True))
            stories.append(
                {
                    "number": story_number,
                    "title": draw(text),
                    "description": draw(optional_text),
                    "acceptance_criteria": [{"criterion": c} for c in criteria],
                    "estimated_hours": draw(hours),
                    "metadata": draw(metadata),
                    "depends_on": earlier,
                    "agent_status": agent,
                    "verified_status": verified,
                }
            )
            order.append(story_number)
        depends_on = (
            draw(st.lists(st.sampled_from(epic_numbers[:index]), unique=True)) if index else []
        )
        epics.append(
            {
                "number": number,
                "title": draw(text),
                "description": draw(optional_text),
                "phase": draw(optional_text),
                "position": draw(st.integers(0, 5)),
                "metadata": draw(metadata),
                "depends_on": depends_on,
                "stories": stories,
            }
        )
    project = {"name": draw(text), "description": draw(optional_text), "metadata": draw(metadata)}
    return {"format": FORMAT, "project": project, "epics": epics}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=projects())
async def test_export_import_export_is_the_same_document(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, doc: dict[str, Any]
) -> None:
    first = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, first.id, doc))
    exported = await export_doc(client, user_key, first.id)
    ProjectDocument.model_validate(exported)
    stories = [s for e in doc["epics"] for s in e["stories"]]
    assert sum(len(e["stories"]) for e in exported["epics"]) == len(stories)
    second = await make_project(runtime, tenant)
    data_of(await import_doc(client, user_key, second.id, exported))
    assert await export_doc(client, user_key, second.id) == exported
    # And merging the export back into its own project changes nothing.
    report = data_of(await import_doc(client, user_key, first.id, exported, merge="true"))
    assert report["epics"]["created"] == report["epics"]["updated"] == 0
    assert report["stories"]["created"] == report["stories"]["updated"] == 0
    assert report["dependencies"]["created"] == 0
    assert report["project_updated"] is False
