"""Importing a project document (fresh, merge, dry run) and exporting one.

An import is one transaction: it locks the project (as dependency edits do), reads the
project's whole breakdown, plans every change in memory, and only if the whole document is
valid writes it with one statement per table, plus one audit row per entity created or
changed and one summary row, in a single bulk insert.
"""

from typing import Any
from uuid import UUID

from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.auth.roles import Role
from loopctl.database.connections import Connection
from loopctl.dependencies import graph_service as dependency_graph
from loopctl.import_export import export as exporting
from loopctl.import_export import repository, snapshots
from loopctl.import_export.errors import (
    ImportConflict,
    ImportInvalid,
    ProjectNotEmpty,
    StatusImportNeedsUser,
)
from loopctl.import_export.plan import Existing, Plan, make_plan
from loopctl.import_export.schemas import (
    LIMITS,
    Changed,
    Counts,
    ImportReport,
    Limits,
    Orphaned,
    OrphanedEpic,
    OrphanedStory,
    ProjectDocument,
)
from loopctl.projects import service as projects
from loopctl.projects.rows import ProjectRow
from loopctl.projects.schemas import ProjectUpdate

# From this many child rows on, the parents' statistics are refreshed before inserting
# them (each child's foreign-key check is planned from those statistics).
BULK = 1_000
# Epic edges are few; from this many on, the graph queries' plans depend on their figures.
EPIC_EDGES_BULK = 100


async def import_document(
    conn: Connection,
    principal: Principal,
    project_id: UUID,
    doc: ProjectDocument,
    *,
    merge: bool = False,
    dry_run: bool = False,
    limits: Limits = LIMITS,
) -> ImportReport:
    """Import ``doc`` into the project, or with ``dry_run`` only say what that would do."""
    project = await projects.writable(conn, project_id, lock=not dry_run)
    lock = merge and not dry_run
    existing = Existing(
        epics=await repository.epics(conn, project_id, lock=lock),
        stories=await repository.stories(conn, project_id, lock=lock),
        story_edges=await repository.story_edges(conn, project_id),
        epic_edges=await repository.epic_edges(conn, project_id),
    )
    if not merge and existing.epics:
        raise ProjectNotEmpty(
            details={"epics": len(existing.epics), "stories": len(existing.stories)}
        )
    plan = make_plan(doc, existing, limits)
    if plan.status_paths and not principal.role.at_least(Role.user):
        raise StatusImportNeedsUser(principal.role.value, plan.status_paths)
    if plan.problems.total:
        raise ImportInvalid(plan.problems.items, plan.problems.total)
    project_change = _project_change(doc, project)
    report = _report(project_id, plan, merge=merge, dry_run=dry_run, project=project_change)
    if dry_run:
        return report
    if project_change is not None:
        # max_active only matters when reactivating, which a document cannot ask for.
        await projects.update(conn, principal, project_id, project_change, max_active=1)
    if plan.changes:
        try:
            await _write(conn, principal, project_id, plan)
        except (pg.UniqueViolation, pg.ForeignKeyViolation) as exc:
            # Single-story and single-epic creates do not take the project lock.
            raise ImportConflict() from exc
        await dependency_graph.refresh_claim_order(conn, project_id)
        if len(plan.new_stories) >= BULK:
            # claim-next is planned from these; unanalyzed, it walked every row (0014).
            await repository.analyze(conn, "claim_order")
        await audit.record(
            conn,
            principal,
            entity_type="project",
            entity_id=project_id,
            action="imported",
            after=report.model_dump(mode="json", exclude={"orphaned"})
            | {
                "orphaned_epics": len(plan.orphaned_epics),
                "orphaned_stories": len(plan.orphaned_stories),
                "backfilled_stories": sum(
                    (s.agent_status, s.verified_status) != ("pending", "unverified")
                    for s in plan.new_stories
                ),
            },
            project_id=project_id,
        )
    return report


async def export_document(
    conn: Connection, principal: Principal, project_id: UUID
) -> dict[str, Any]:
    """The project as a document that import reads back to the same project."""
    project = await projects.get(conn, principal, project_id)
    return exporting.document(
        project,
        await repository.epics(conn, project_id),
        await repository.stories(conn, project_id),
        await repository.story_edges(conn, project_id),
        await repository.epic_edges(conn, project_id),
    )


def _project_change(doc: ProjectDocument, project: ProjectRow) -> ProjectUpdate | None:
    # The reference's documents describe the project they came from; like the reference,
    # an import of one leaves the target project's own fields alone.
    if doc.project is None or doc.reference:
        return None
    given = doc.project.changes()
    if all(getattr(project, name) == value for name, value in given.items()):
        return None
    return ProjectUpdate.model_validate(given)


async def _write(conn: Connection, principal: Principal, project_id: UUID, plan: Plan) -> None:
    tenant = principal.tenant
    # Parents before children: new epics, then stories (possibly moved into them), then edges.
    await repository.EPICS.insert(conn, tenant, project_id, plan.new_epics)
    await repository.EPICS.update(conn, tenant, [new for _, new in plan.changed_epics])
    if len(plan.new_stories) >= BULK:
        await repository.analyze(conn, "epics")
    await repository.STORIES.insert(conn, tenant, project_id, plan.new_stories)
    await repository.STORIES.update(conn, tenant, [new for _, new in plan.changed_stories])
    # The edges' foreign-key checks, and claim-next right after the import, are planned
    # from the stories' statistics.
    if len(plan.new_stories) >= BULK or len(plan.new_story_edges) >= BULK:
        await repository.analyze(conn, "stories")
    await repository.insert_story_edges(conn, tenant, project_id, plan.new_story_edges)
    if len(plan.new_story_edges) >= BULK:
        await repository.analyze(conn, "story_dependencies")
    await repository.insert_epic_edges(conn, tenant, project_id, plan.new_epic_edges)
    if len(plan.new_epic_edges) >= EPIC_EDGES_BULK:
        await repository.analyze(conn, "epic_dependencies")
    now = await repository.now(conn)
    await audit.record_many(conn, principal, snapshots.entries(project_id, plan, now))


def _report(
    project_id: UUID,
    plan: Plan,
    *,
    merge: bool,
    dry_run: bool,
    project: ProjectUpdate | None,
) -> ImportReport:
    new_edges = len(plan.new_story_edges) + len(plan.new_epic_edges)
    return ImportReport(
        project_id=project_id,
        mode="merge" if merge else "fresh",
        dry_run=dry_run,
        project_updated=project is not None,
        epics=Counts(
            created=len(plan.new_epics),
            updated=len(plan.changed_epics),
            unchanged=plan.unchanged_epics,
        ),
        stories=Counts(
            created=len(plan.new_stories),
            updated=len(plan.changed_stories),
            unchanged=plan.unchanged_stories,
        ),
        dependencies=Counts(created=new_edges, unchanged=plan.unchanged_edges),
        changed=Changed(
            epics_created=[e.number for e in plan.new_epics],
            epics_updated=[values.number for _, values in plan.changed_epics],
            stories_created=[s.number for s in plan.new_stories],
            stories_updated=[values.number for _, values in plan.changed_stories],
        ),
        orphaned=Orphaned(
            epics=[OrphanedEpic(number=e.number, title=e.title) for e in plan.orphaned_epics],
            stories=[
                OrphanedStory(
                    number=s.number, title=s.title, epic_number=plan.epic_numbers[s.epic_id]
                )
                for s in plan.orphaned_stories
            ],
        ),
    )
