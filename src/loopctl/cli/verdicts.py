"""The reviewer's side of the story loop: report, review-complete, verify, reject,
force-unclaim, backfill, verify-all, and the artifacts a story records."""

from typing import Annotated, Any

import typer

from loopctl.cli import handles
from loopctl.cli.errors import UsageProblem
from loopctl.cli.handles import EpicArgument, StoryWords
from loopctl.cli.loop import LeaseOption
from loopctl.cli.remote import client_for, emit_for, remote

RESULTS = ("passed", "failed", "not_checked")
ARTIFACT_COLUMNS = ("id", "artifact_type", "path", "exists", "created_at")

artifacts = typer.Typer(help="A story's artifacts: add and list.", no_args_is_help=True)

SummaryOption = Annotated[str | None, typer.Option("--summary", help="What was checked.")]
CriterionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--criterion",
        metavar="ID=RESULT[:EVIDENCE]",
        help="A criterion's result (passed, failed, not_checked); repeatable.",
    ),
]


def criteria(given: list[str] | None) -> list[dict[str, Any]] | None:
    """``AC-1=passed:the test`` -> ``{"id": "AC-1", "result": "passed", "evidence": …}``."""
    if not given:
        return None
    checks = []
    for text in given:
        ident, sep, rest = text.partition("=")
        result, _, evidence = rest.partition(":")
        if not sep or not ident or result not in RESULTS:
            raise UsageProblem(
                "bad_criterion",
                f"--criterion {text!r}: expected ID=RESULT[:EVIDENCE], RESULT one of "
                + ", ".join(RESULTS),
            )
        check: dict[str, Any] = {"id": ident, "result": result}
        if evidence:
            check["evidence"] = evidence
        checks.append(check)
    return checks


@remote
def report(
    ctx: typer.Context,
    story: StoryWords,
    artifact_type: Annotated[
        str | None, typer.Option("--artifact-type", help="commit, pr, test_run, …")
    ] = None,
    artifact_path: Annotated[
        str | None, typer.Option("--artifact-path", help="Where the artifact is.")
    ] = None,
    lease_token: LeaseOption = None,
) -> None:
    """Report the work done (anyone but the implementer: orchestrator key)."""
    if (artifact_type is None) != (artifact_path is None):
        raise UsageProblem(
            "bad_artifact", "--artifact-type and --artifact-path go together: give both or neither"
        )
    artifact = {"artifact_type": artifact_type, "path": artifact_path} if artifact_type else None
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.report(story_id, artifact=artifact, lease_token=lease_token)
    emit_for(ctx, done)


@remote
def review_complete(
    ctx: typer.Context,
    story: StoryWords,
    review_type: Annotated[str, typer.Option("--type", help="The kind of review, e.g. code.")],
    findings: Annotated[int, typer.Option("--findings", min=0, help="Findings raised.")] = 0,
    fixes: Annotated[int, typer.Option("--fixes", min=0, help="Findings fixed.")] = 0,
    disproved: Annotated[int, typer.Option("--disproved", min=0, help="Findings disproved.")] = 0,
    summary: SummaryOption = None,
) -> None:
    """Record a completed review of a reported story (orchestrator key)."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.review_complete(
            story_id,
            review_type,
            findings_count=findings,
            fixes_count=fixes,
            disproved_count=disproved,
            summary=summary,
        )
    emit_for(ctx, done)


@remote
def verify(
    ctx: typer.Context,
    story: StoryWords,
    summary: SummaryOption = None,
    criterion: CriterionOption = None,
) -> None:
    """Verify a reported story, with evidence per criterion (orchestrator key)."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.verify(story_id, criteria=criteria(criterion), summary=summary)
    emit_for(ctx, done)


@remote
def reject(
    ctx: typer.Context,
    story: StoryWords,
    reason: Annotated[str, typer.Option("--reason", help="Why the work is refused.")],
    summary: SummaryOption = None,
    criterion: CriterionOption = None,
) -> None:
    """Reject a story's work; it goes back to its implementer (orchestrator key)."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.reject(story_id, reason, criteria=criteria(criterion), summary=summary)
    emit_for(ctx, done)


@remote
def force_unclaim(
    ctx: typer.Context,
    story: StoryWords,
) -> None:
    """Take a story back from its assignee (orchestrator key)."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.force_unclaim(story_id)
    emit_for(ctx, done)


@remote
def backfill(
    ctx: typer.Context,
    story: StoryWords,
    reason: Annotated[str, typer.Option("--reason", help="Why the work predates loopctl.")],
    evidence: Annotated[str | None, typer.Option("--evidence", help="What shows it.")] = None,
    evidence_url: Annotated[
        str | None, typer.Option("--evidence-url", help="A link that shows it.")
    ] = None,
) -> None:
    """Record work done before loopctl as verified (user key)."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        done = client.backfill(story_id, reason, evidence=evidence, evidence_url=evidence_url)
    emit_for(ctx, done)


@remote
def verify_all(
    ctx: typer.Context,
    epic: EpicArgument,
    summary: SummaryOption = None,
) -> None:
    """Verify every reported, unverified story of an epic; lists those refused."""
    with client_for(ctx) as client:
        done = client.verify_all(handles.epic_id(client, epic, None), summary=summary)
    emit_for(ctx, done)


@artifacts.command("add")
@remote
def artifact_add(
    ctx: typer.Context,
    story: StoryWords,
    artifact_type: Annotated[str, typer.Option("--type", help="commit, pr, test_run, …")],
    path: Annotated[str, typer.Option("--path", help="Where the artifact is.")],
) -> None:
    """Record an artifact of a story's work."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        added = client.add_artifact(story_id, artifact_type, path)
    emit_for(ctx, added)


@artifacts.command("list")
@remote
def artifact_list(
    ctx: typer.Context,
    story: StoryWords,
) -> None:
    """List a story's artifacts."""
    with client_for(ctx) as client:
        story_id = handles.story_id(client, *handles.story_words(story))
        found = client.list_artifacts(story_id)
    emit_for(ctx, found, ARTIFACT_COLUMNS)


def register(app: typer.Typer) -> None:
    """Add the reviewer's commands to the root command."""
    app.command()(report)
    app.command("review-complete")(review_complete)
    app.command()(verify)
    app.command()(reject)
    app.command("force-unclaim")(force_unclaim)
    app.command()(backfill)
    app.command("verify-all")(verify_all)
    app.add_typer(artifacts, name="artifact")
