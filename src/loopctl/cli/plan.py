"""Planning commands: ``project create|update|archive|progress`` and the ``epic`` group.

Projects and epics are named by handles (cli/handles.py): a project by slug or id (none
given: the default project), an epic by number, ``shop/3`` or id.
"""

import re
from typing import Annotated

import typer

from loopctl.cli import handles
from loopctl.cli.fields import (
    ClearOption,
    DescriptionOption,
    MetadataOption,
    changes,
    cleared,
    given,
    metadata,
)
from loopctl.cli.handles import EpicArgument, OptionalProjectArgument, ProjectOption
from loopctl.cli.inputs import YesOption, confirm
from loopctl.cli.reads import LimitOption, OffsetOption
from loopctl.cli.remote import client_for, emit_for, remote

EPIC_COLUMNS = ("id", "number", "title", "phase", "story_count", "completion_percentage")
PhaseOption = Annotated[str | None, typer.Option(help="A phase name, e.g. mvp.")]
PositionOption = Annotated[int | None, typer.Option(help="Order among the project's epics.")]

epics = typer.Typer(
    help="Epics: list, show, create, update, delete, progress.", no_args_is_help=True
)


def slug_of(name: str) -> str:
    """A slug made from a name: "Shop v2!" -> "shop-v2"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@remote
def project_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project's name.")],
    slug: Annotated[
        str | None, typer.Option(help="Its handle in the tenant.", show_default="from the name")
    ] = None,
    description: DescriptionOption = None,
    repo_url: Annotated[str | None, typer.Option(help="The repository's URL.")] = None,
    tech_stack: Annotated[str | None, typer.Option(help="e.g. python, postgres.")] = None,
    mission: Annotated[str | None, typer.Option(help="Why the work exists.")] = None,
    meta: MetadataOption = None,
) -> None:
    """Create a project (orchestrator or user key)."""
    extra = given(
        description=description,
        repo_url=repo_url,
        tech_stack=tech_stack,
        mission=mission,
        metadata=metadata(meta),
    )
    with client_for(ctx) as client:
        found = client.create_project(name, slug or slug_of(name), **extra)
    emit_for(ctx, found)


@remote
def project_update(
    ctx: typer.Context,
    project: OptionalProjectArgument = None,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    description: DescriptionOption = None,
    repo_url: Annotated[str | None, typer.Option(help="The repository's URL.")] = None,
    tech_stack: Annotated[str | None, typer.Option(help="e.g. python, postgres.")] = None,
    mission: Annotated[str | None, typer.Option(help="Why the work exists.")] = None,
    status: Annotated[str | None, typer.Option(help="active or archived (user key).")] = None,
    meta: MetadataOption = None,
    clear: ClearOption = None,
) -> None:
    """Change a project's fields; only those given change."""
    body = changes(
        given(
            name=name,
            description=description,
            repo_url=repo_url,
            tech_stack=tech_stack,
            mission=mission,
            status=status,
            metadata=metadata(meta),
        ),
        cleared(clear, ("description", "repo_url", "tech_stack", "mission")),
    )
    with client_for(ctx) as client:
        found = client.update_project(handles.project_id(client, project), **body)
    emit_for(ctx, found)


@remote
def project_archive(
    ctx: typer.Context, project: OptionalProjectArgument = None, yes: YesOption = False
) -> None:
    """Archive a project: it leaves lists and takes no changes (`project update --status
    active` brings it back)."""
    with client_for(ctx) as client:
        target = handles.project_id(client, project)
        confirm(f"Archive project {project or target}?", yes)
        found = client.archive_project(target)
    emit_for(ctx, found)


@remote
def project_progress(
    ctx: typer.Context,
    project: OptionalProjectArgument = None,
    include_cost: Annotated[
        bool, typer.Option("--include-cost", help="Also token cost, where reported.")
    ] = False,
) -> None:
    """How far a project is: stories by status, epics completed."""
    with client_for(ctx) as client:
        found = client.project_progress(
            handles.project_id(client, project), include_cost=include_cost or None
        )
    emit_for(ctx, found)


@epics.command("list")
@remote
def epic_list(
    ctx: typer.Context,
    project: ProjectOption = None,
    phase: PhaseOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """List a project's epics with how far each is."""
    with client_for(ctx) as client:
        found = client.list_epics(
            handles.project_id(client, project), limit=limit, offset=offset, phase=phase
        )
    emit_for(ctx, found, EPIC_COLUMNS)


@epics.command("show")
@remote
def epic_show(ctx: typer.Context, epic: EpicArgument, project: ProjectOption = None) -> None:
    """Show one epic and its stories."""
    with client_for(ctx) as client:
        found = client.get_epic(handles.epic_id(client, epic, project))
    emit_for(ctx, found)


@epics.command("create")
@remote
def epic_create(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(min=1, help="Its number in the project.")],
    title: Annotated[str, typer.Argument(help="Its title.")],
    project: ProjectOption = None,
    description: DescriptionOption = None,
    phase: PhaseOption = None,
    position: PositionOption = None,
    meta: MetadataOption = None,
) -> None:
    """Create an epic in a project (orchestrator or user key)."""
    extra = given(description=description, phase=phase, position=position, metadata=metadata(meta))
    with client_for(ctx) as client:
        found = client.create_epic(handles.project_id(client, project), number, title, **extra)
    emit_for(ctx, found)


@epics.command("update")
@remote
def epic_update(
    ctx: typer.Context,
    epic: EpicArgument,
    project: ProjectOption = None,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    description: DescriptionOption = None,
    phase: PhaseOption = None,
    position: PositionOption = None,
    meta: MetadataOption = None,
    clear: ClearOption = None,
) -> None:
    """Change an epic's fields; only those given change."""
    body = changes(
        given(
            title=title,
            description=description,
            phase=phase,
            position=position,
            metadata=metadata(meta),
        ),
        cleared(clear, ("description", "phase")),
    )
    with client_for(ctx) as client:
        found = client.update_epic(handles.epic_id(client, epic, project), **body)
    emit_for(ctx, found)


@epics.command("delete")
@remote
def epic_delete(
    ctx: typer.Context,
    epic: EpicArgument,
    project: ProjectOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Also delete its stories (else it must be empty).")
    ] = False,
    yes: YesOption = False,
) -> None:
    """Delete an epic (with --force, its stories too)."""
    with client_for(ctx) as client:
        target = handles.epic_id(client, epic, project)
        what = "and its stories " if force else ""
        confirm(f"Delete epic {epic} {what}for good?", yes)
        found = client.delete_epic(target, force=force or None)
    emit_for(ctx, found)


@epics.command("progress")
@remote
def epic_progress(ctx: typer.Context, epic: EpicArgument, project: ProjectOption = None) -> None:
    """How far an epic is: its stories by status."""
    with client_for(ctx) as client:
        found = client.epic_progress(handles.epic_id(client, epic, project))
    emit_for(ctx, found)


def register(group: typer.Typer) -> None:
    """Add these commands to the `project` group (cli/reads.py)."""
    group.command("create")(project_create)
    group.command("update")(project_update)
    group.command("archive")(project_archive)
    group.command("progress")(project_progress)
