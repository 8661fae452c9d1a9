"""A story's history and the audit search through both clients, against a live server."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from loopctl.client import AsyncClient, ForbiddenError, NotFoundError
from tests.client.conftest import Live, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


def test_history_and_audit_read_the_story_s_entries(live: Live, keys: Roles) -> None:
    with live.client(keys.orchestrator) as orch, live.client(keys.agent) as agent:
        project = orch.create_project("Audit calls", f"audit-{uuid4().hex[:8]}")
        epic = orch.create_epic(project.id, 1, "Trail")
        story = orch.create_story(epic.id, "1.1", "Trail")
        agent.contract(story.id, story_title="Trail", ac_count=0)
        history = agent.story_history(story.id)
        assert [e.action for e in history.data] == ["created", "status_changed"]
        assert agent.story_history(story.id, limit=1, offset=1).data[0].action == "status_changed"
        with pytest.raises(NotFoundError):
            agent.story_history(uuid4())
        with pytest.raises(ForbiddenError):
            agent.search_audit(project_id=project.id)
    since = datetime.now(UTC) - timedelta(hours=1)
    with live.client(keys.user) as user:
        found = user.search_audit(project_id=project.id, entity_type="story", start=since)
        assert {e.entity_id for e in found.data} == {story.id}
        later = user.search_audit(project_id=project.id, start=since + timedelta(hours=2))
        assert later.data == []
        before = user.search_audit(project_id=project.id, end=since.isoformat())
        assert before.data == []


async def test_the_async_client_has_the_same_calls(live: Live, keys: Roles) -> None:
    async with AsyncClient(live.url, keys.user) as user:
        project = await user.create_project("Audit async", f"audit-{uuid4().hex[:8]}")
        page = await user.search_audit(entity_id=project.id, action="created")
        assert [(e.entity_type, e.entity_id) for e in page.data] == [("project", project.id)]
        with pytest.raises(NotFoundError):
            await user.story_history(uuid4())
