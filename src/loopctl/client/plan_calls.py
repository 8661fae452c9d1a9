"""The requests for the plan: tenant, keys, agents, projects, epics, stories, dependencies.

Each function builds one ``Call``; the clients (client/clients.py) send it. Optional body
fields are keyword arguments sent only when given; the server validates every one.
"""

from typing import Any

from loopctl.agents.schemas import Agent
from loopctl.api_keys.schemas import ApiKey, ApiKeyCreated, ApiKeyRotated
from loopctl.client.core import Call, Id, item, page, present
from loopctl.client.models import Tenant, TenantRegistered
from loopctl.dependencies.schemas import (
    BlockedItem,
    CriticalPath,
    DependencyGraph,
    EpicDependency,
    StoryDependency,
    WorkItem,
)
from loopctl.epics.schemas import Epic, EpicDeleted, EpicDetail, EpicProgress, EpicSummary
from loopctl.import_export.schemas import ImportReport
from loopctl.kit.schemas import Page
from loopctl.lookup.schemas import Lookup
from loopctl.projects.schemas import Project, ProjectDetail, ProjectProgress
from loopctl.stories.schemas import Story, StoryDeleted, StoryDetail


def _paged(limit: int | None, offset: int | None, **given: Any) -> dict[str, Any]:
    return present(limit=limit, offset=offset, **given)


def register_tenant(name: str, slug: str, *, email: str | None = None) -> Call[TenantRegistered]:
    """Sign up a tenant (no key needed); the answer holds its first user key."""
    body = present(name=name, slug=slug, email=email)
    return Call("POST", "/tenants/register", item(TenantRegistered), body=body)


def get_tenant() -> Call[Tenant]:
    """The key's tenant, its settings and limits."""
    return Call("GET", "/tenants/me", item(Tenant))


def update_tenant(**changes: Any) -> Call[Tenant]:
    """Change the tenant's name or settings (user key)."""
    return Call("PATCH", "/tenants/me", item(Tenant), body=changes)


def create_api_key(name: str, role: str, **extra: Any) -> Call[ApiKeyCreated]:
    """A new key; ``raw_key`` in the answer is shown this once."""
    body = present(name=name, role=role, **extra)
    return Call("POST", "/api_keys", item(ApiKeyCreated), body=body)


def list_api_keys(
    *, limit: int | None = None, offset: int | None = None, **filters: Any
) -> Call[Page[ApiKey]]:
    return Call("GET", "/api_keys", page(ApiKey), params=_paged(limit, offset, **filters))


def get_my_api_key() -> Call[ApiKey]:
    """The key making the request."""
    return Call("GET", "/api_keys/me", item(ApiKey))


def get_api_key(api_key_id: Id) -> Call[ApiKey]:
    return Call("GET", f"/api_keys/{api_key_id}", item(ApiKey))


def revoke_api_key(api_key_id: Id) -> Call[ApiKey]:
    return Call("DELETE", f"/api_keys/{api_key_id}", item(ApiKey))


def rotate_api_key(api_key_id: Id, **extra: Any) -> Call[ApiKeyRotated]:
    return Call(
        "POST", f"/api_keys/{api_key_id}/rotate", item(ApiKeyRotated), body=present(**extra)
    )


def register_agent(name: str, **extra: Any) -> Call[Agent]:
    body = present(name=name, **extra)
    return Call("POST", "/agents/register", item(Agent), body=body)


def list_agents(
    *, limit: int | None = None, offset: int | None = None, agent_type: str | None = None
) -> Call[Page[Agent]]:
    params = _paged(limit, offset, agent_type=agent_type)
    return Call("GET", "/agents", page(Agent), params=params)


def get_agent(agent_id: Id) -> Call[Agent]:
    return Call("GET", f"/agents/{agent_id}", item(Agent))


def create_project(name: str, slug: str, **extra: Any) -> Call[Project]:
    body = present(name=name, slug=slug, **extra)
    return Call("POST", "/projects", item(Project), body=body)


def list_projects(
    *, limit: int | None = None, offset: int | None = None, **filters: Any
) -> Call[Page[Project]]:
    return Call("GET", "/projects", page(Project), params=_paged(limit, offset, **filters))


def get_project(project_id: Id) -> Call[ProjectDetail]:
    return Call("GET", f"/projects/{project_id}", item(ProjectDetail))


def update_project(project_id: Id, **changes: Any) -> Call[Project]:
    return Call("PATCH", f"/projects/{project_id}", item(Project), body=changes)


def archive_project(project_id: Id) -> Call[Project]:
    return Call("DELETE", f"/projects/{project_id}", item(Project))


def project_progress(project_id: Id, *, include_cost: bool | None = None) -> Call[ProjectProgress]:
    params = present(include_cost=include_cost)
    return Call("GET", f"/projects/{project_id}/progress", item(ProjectProgress), params=params)


def lookup(project: str, *, epic: int | None = None, story: str | None = None) -> Call[Lookup]:
    """Ids for handles: a project by slug or id, an epic and a story by number in it."""
    return Call(
        "GET", "/lookup", item(Lookup), params=present(project=project, epic=epic, story=story)
    )


def create_epic(project_id: Id, number: int, title: str, **extra: Any) -> Call[Epic]:
    body = present(number=number, title=title, **extra)
    return Call("POST", f"/projects/{project_id}/epics", item(Epic), body=body)


def list_epics(
    project_id: Id, *, limit: int | None = None, offset: int | None = None, phase: str | None = None
) -> Call[Page[EpicSummary]]:
    params = _paged(limit, offset, phase=phase)
    return Call("GET", f"/projects/{project_id}/epics", page(EpicSummary), params=params)


def get_epic(epic_id: Id) -> Call[EpicDetail]:
    return Call("GET", f"/epics/{epic_id}", item(EpicDetail))


def update_epic(epic_id: Id, **changes: Any) -> Call[Epic]:
    return Call("PATCH", f"/epics/{epic_id}", item(Epic), body=changes)


def delete_epic(epic_id: Id, *, force: bool | None = None) -> Call[EpicDeleted]:
    return Call("DELETE", f"/epics/{epic_id}", item(EpicDeleted), params=present(force=force))


def epic_progress(epic_id: Id) -> Call[EpicProgress]:
    return Call("GET", f"/epics/{epic_id}/progress", item(EpicProgress))


def create_story(epic_id: Id, number: str, title: str, **extra: Any) -> Call[Story]:
    body = present(number=number, title=title, **extra)
    return Call("POST", f"/epics/{epic_id}/stories", item(Story), body=body)


def create_story_in_project(
    project_id: Id, epic_number: int, number: str, title: str, **extra: Any
) -> Call[Story]:
    body = present(epic_number=epic_number, number=number, title=title, **extra)
    return Call("POST", f"/projects/{project_id}/stories", item(Story), body=body)


def list_stories(
    *, limit: int | None = None, offset: int | None = None, **filters: Any
) -> Call[Page[Story]]:
    """Stories, filtered by ``project_id``, ``epic_id``, ``agent_status``, ``q``, …."""
    return Call("GET", "/stories", page(Story), params=_paged(limit, offset, **filters))


def list_epic_stories(
    epic_id: Id, *, limit: int | None = None, offset: int | None = None, **filters: Any
) -> Call[Page[Story]]:
    params = _paged(limit, offset, **filters)
    return Call("GET", f"/epics/{epic_id}/stories", page(Story), params=params)


def get_story(story_id: Id) -> Call[StoryDetail]:
    return Call("GET", f"/stories/{story_id}", item(StoryDetail))


def update_story(story_id: Id, **changes: Any) -> Call[Story]:
    return Call("PATCH", f"/stories/{story_id}", item(Story), body=changes)


def delete_story(story_id: Id) -> Call[StoryDeleted]:
    return Call("DELETE", f"/stories/{story_id}", item(StoryDeleted))


def add_story_dependency(story_id: Id, depends_on_story_id: Id) -> Call[StoryDependency]:
    body = present(story_id=story_id, depends_on_story_id=depends_on_story_id)
    return Call("POST", "/story_dependencies", item(StoryDependency), body=body)


def remove_story_dependency(dependency_id: Id) -> Call[StoryDependency]:
    return Call("DELETE", f"/story_dependencies/{dependency_id}", item(StoryDependency))


def add_epic_dependency(epic_id: Id, depends_on_epic_id: Id) -> Call[EpicDependency]:
    body = present(epic_id=epic_id, depends_on_epic_id=depends_on_epic_id)
    return Call("POST", "/epic_dependencies", item(EpicDependency), body=body)


def remove_epic_dependency(dependency_id: Id) -> Call[EpicDependency]:
    return Call("DELETE", f"/epic_dependencies/{dependency_id}", item(EpicDependency))


def list_story_dependencies(
    epic_id: Id, *, limit: int | None = None, offset: int | None = None
) -> Call[Page[StoryDependency]]:
    path = f"/epics/{epic_id}/story_dependencies"
    return Call("GET", path, page(StoryDependency), params=_paged(limit, offset))


def list_epic_dependencies(
    project_id: Id, *, limit: int | None = None, offset: int | None = None
) -> Call[Page[EpicDependency]]:
    path = f"/projects/{project_id}/epic_dependencies"
    return Call("GET", path, page(EpicDependency), params=_paged(limit, offset))


def dependency_graph(project_id: Id) -> Call[DependencyGraph]:
    return Call("GET", f"/projects/{project_id}/dependency_graph", item(DependencyGraph))


def critical_path(project_id: Id) -> Call[CriticalPath]:
    return Call("GET", f"/projects/{project_id}/critical_path", item(CriticalPath))


def ready(
    *,
    project_id: Id | None = None,
    epic_id: Id | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Call[Page[WorkItem]]:
    """Stories an agent can start now (across every active project unless filtered)."""
    params = _paged(limit, offset, project_id=project_id, epic_id=epic_id)
    return Call("GET", "/stories/ready", page(WorkItem), params=params)


def blocked(
    *,
    project_id: Id | None = None,
    epic_id: Id | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Call[Page[BlockedItem]]:
    params = _paged(limit, offset, project_id=project_id, epic_id=epic_id)
    return Call("GET", "/stories/blocked", page(BlockedItem), params=params)


def import_project(
    project_id: Id,
    document: dict[str, Any],
    *,
    merge: bool | None = None,
    dry_run: bool | None = None,
) -> Call[ImportReport]:
    """Import a document (ours or the reference's) into a project, all or nothing."""
    params = present(merge=merge, dry_run=dry_run)
    path = f"/projects/{project_id}/import"
    return Call("POST", path, item(ImportReport), params=params, body=document)


def export_project(project_id: Id) -> Call[dict[str, Any]]:
    """The project as a loopctl.project.v1 document (a plain dict, ready to import)."""
    return Call("GET", f"/projects/{project_id}/export", _document)


def _document(body: Any) -> dict[str, Any]:
    return dict(body["data"])
