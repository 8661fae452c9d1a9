"""``story create|update|delete``: changing the plan's stories (orchestrator or user key)."""

from typing import Annotated

import typer

from loopctl.cli import handles
from loopctl.cli.fields import (
    ClearOption,
    CriteriaOption,
    CriterionOption,
    DescriptionOption,
    HoursOption,
    MetadataOption,
    changes,
    cleared,
    criteria,
    given,
    metadata,
)
from loopctl.cli.handles import ProjectOption, StoryWords
from loopctl.cli.inputs import YesOption, confirm
from loopctl.cli.remote import client_for, emit_for, remote


@remote
def story_create(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Its number, e.g. 2.1.")],
    title: Annotated[str, typer.Argument(help="Its title.")],
    epic: Annotated[
        str | None,
        typer.Option(
            "--epic",
            metavar="EPIC",
            help=handles.EPIC_HELP,
            show_default="the number's first part (2.1: epic 2)",
        ),
    ] = None,
    project: ProjectOption = None,
    description: DescriptionOption = None,
    criterion: CriterionOption = None,
    criteria_json: CriteriaOption = None,
    hours: HoursOption = None,
    meta: MetadataOption = None,
) -> None:
    """Create a story in an epic."""
    extra = given(
        description=description,
        acceptance_criteria=criteria(criterion, criteria_json),
        estimated_hours=hours,
        metadata=metadata(meta),
    )
    with client_for(ctx) as client:
        epic_id = handles.epic_id(client, epic or number.split(".")[0], project)
        found = client.create_story(epic_id, number, title, **extra)
    emit_for(ctx, found)


@remote
def story_update(
    ctx: typer.Context,
    story: StoryWords,
    project: ProjectOption = None,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    description: DescriptionOption = None,
    criterion: CriterionOption = None,
    criteria_json: CriteriaOption = None,
    hours: HoursOption = None,
    meta: MetadataOption = None,
    clear: ClearOption = None,
) -> None:
    """Change a story's fields; only those given change (criteria replace the list)."""
    body = changes(
        given(
            title=title,
            description=description,
            acceptance_criteria=criteria(criterion, criteria_json),
            estimated_hours=hours,
            metadata=metadata(meta),
        ),
        cleared(clear, ("description", "estimated_hours")),
    )
    ref, inline_project = handles.story_words(story)
    with client_for(ctx) as client:
        found = client.update_story(
            handles.story_id(client, ref, inline_project or project), **body
        )
    emit_for(ctx, found)


@remote
def story_delete(
    ctx: typer.Context, story: StoryWords, project: ProjectOption = None, yes: YesOption = False
) -> None:
    """Delete a story and the dependency edges to and from it."""
    ref, inline_project = handles.story_words(story)
    with client_for(ctx) as client:
        target = handles.story_id(client, ref, inline_project or project)
        confirm(f"Delete story {ref} for good?", yes)
        found = client.delete_story(target)
    emit_for(ctx, found)


def register(group: typer.Typer) -> None:
    """Add these commands to the `story` group (cli/reads.py)."""
    group.command("create")(story_create)
    group.command("update")(story_update)
    group.command("delete")(story_delete)
