"""The implementer's side of the story loop: next/claim-next, contract, claim, start,
heartbeat, request-review, unclaim (docs/progress.md has the states and who may do what)."""

from collections.abc import Callable
from typing import Annotated

import typer

from loopctl.cli import handles
from loopctl.cli.handles import EpicOption, ProjectOption, StoryWords
from loopctl.cli.remote import client_for, emit_for, remote

LeaseOption = Annotated[
    int | None,
    typer.Option(
        "--lease-token",
        metavar="TOKEN",
        help="The claim's lease.token: a stale holder's write then fails with lease_lost.",
    ),
]


@remote
def claim_next(
    ctx: typer.Context,
    project: ProjectOption = None,
    epic: EpicOption = None,
) -> None:
    """Claim the best ready story (exit 5, no_ready_story, when there is none)."""
    with client_for(ctx) as client:
        project_id, epic_id = handles.filters(client, project, epic)
        claimed = client.claim_next(project_id=project_id, epic_id=epic_id)
    emit_for(ctx, claimed)


@remote
def contract(
    ctx: typer.Context,
    story: StoryWords,
    story_title: Annotated[
        str | None, typer.Option("--story-title", help="The story's title, echoed.")
    ] = None,
    ac_count: Annotated[
        int | None, typer.Option("--ac-count", help="How many acceptance criteria it has.")
    ] = None,
) -> None:
    """Agree to a story's contract (agent key)."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.contract(story_id, story_title=story_title, ac_count=ac_count)
    emit_for(ctx, done)


@remote
def claim(
    ctx: typer.Context,
    story: StoryWords,
) -> None:
    """Take a contracted story; the answer carries the lease."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.claim(story_id)
    emit_for(ctx, done)


def _leased_step(action: str, doc: str) -> Callable[..., None]:
    """A command sending one lease-guarded transition (start, heartbeat, …)."""

    @remote
    def step(
        ctx: typer.Context,
        story: StoryWords,
        lease_token: LeaseOption = None,
    ) -> None:
        with client_for(ctx) as client:
            story_id = handles.story_id(client, *handles.story_words(story))
            done = getattr(client, action)(story_id, lease_token=lease_token)
        emit_for(ctx, done)

    step.__doc__ = doc
    step.__name__ = action
    return step


start = _leased_step("start", "Start work on a claimed story.")
heartbeat = _leased_step("heartbeat", "Extend the lease by the tenant's lease TTL.")
request_review = _leased_step("request_review", "Hand the work over for review.")
unclaim = _leased_step("unclaim", "Give a claimed story back.")


def register(app: typer.Typer) -> None:
    """Add the implementer's commands to the root command."""
    app.command("next")(claim_next)
    app.command("claim-next")(claim_next)
    app.command()(contract)
    app.command()(claim)
    app.command()(start)
    app.command()(heartbeat)
    app.command("request-review")(request_review)
    app.command()(unclaim)
