"""Dependencies: ``dep add|rm|list|graph`` and ``critical-path``.

``dep add A B`` makes A wait for B: stories by default, epics with ``--epics`` (an epic
waits until every story of the other is verified). ``graph`` prints the project's graph as
JSON for agents, and as a tree of epics and stories (each with what it waits for) for people.
"""

import sys
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from loopctl.cli import handles
from loopctl.cli.errors import CliError
from loopctl.cli.exit_codes import ExitCode
from loopctl.cli.handles import OptionalProjectArgument, ProjectOption
from loopctl.cli.output import Format, emit
from loopctl.cli.remote import client_for, emit_for, format_for, remote
from loopctl.client import Client
from loopctl.dependencies.schemas import DependencyGraph

EDGE_COLUMNS = ("type", "dependent", "depends_on", "id")
PATH_COLUMNS = ("epic_number", "number", "title", "estimated_hours", "agent_status")
PAGE = 500

deps = typer.Typer(help="Dependencies: add, rm, list, graph.", no_args_is_help=True)

Dependent = Annotated[
    str, typer.Argument(metavar="DEPENDENT", help="The story (or epic) that waits.")
]
DependsOn = Annotated[str, typer.Argument(metavar="DEPENDS_ON", help="What it waits for.")]
EpicsFlag = Annotated[
    bool, typer.Option("--epics", help="Both are epics (numbers or ids), not stories.")
]


def _epic_project(client: Client, epic_id: UUID) -> UUID:
    return client.get_epic(epic_id).project_id


def _epic_edges(client: Client, project_id: UUID) -> list[Any]:
    edges: list[Any] = []
    while True:
        page = client.list_epic_dependencies(project_id, limit=PAGE, offset=len(edges))
        edges += page.data
        if not page.data or len(edges) >= page.meta.total:
            return edges


def _missing(dependent: str, depends_on: str) -> CliError:
    return CliError(
        "dependency_not_found",
        f"{dependent} does not depend on {depends_on}",
        exit_code=ExitCode.NOT_FOUND,
    )


@deps.command("add")
@remote
def dep_add(
    ctx: typer.Context,
    dependent: Dependent,
    depends_on: DependsOn,
    epics: EpicsFlag = False,
    project: ProjectOption = None,
) -> None:
    """Make DEPENDENT wait for DEPENDS_ON (a cycle is refused: exit 7)."""
    with client_for(ctx) as client:
        if epics:
            found: Any = client.add_epic_dependency(
                handles.epic_id(client, dependent, project),
                handles.epic_id(client, depends_on, project),
            )
        else:
            found = client.add_story_dependency(
                handles.story_id(client, dependent, project),
                handles.story_id(client, depends_on, project),
            )
    emit_for(ctx, found)


@deps.command("rm")
@remote
def dep_rm(
    ctx: typer.Context,
    dependent: Dependent,
    depends_on: DependsOn,
    epics: EpicsFlag = False,
    project: ProjectOption = None,
) -> None:
    """Remove the dependency of DEPENDENT on DEPENDS_ON."""
    with client_for(ctx) as client:
        if epics:
            first = handles.epic_id(client, dependent, project)
            second = handles.epic_id(client, depends_on, project)
            edge = next(
                (
                    e.id
                    for e in _epic_edges(client, _epic_project(client, first))
                    if e.epic_id == first and e.depends_on_epic_id == second
                ),
                None,
            )
            if edge is None:
                raise _missing(dependent, depends_on)
            found: Any = client.remove_epic_dependency(edge)
        else:
            story = client.get_story(handles.story_id(client, dependent, project))
            other = handles.story_id(client, depends_on, project)
            link = next((d for d in story.dependencies if d.depends_on_story_id == other), None)
            if link is None:
                raise _missing(dependent, depends_on)
            found = client.remove_story_dependency(link.dependency_id)
    emit_for(ctx, found)


def edge_rows(graph: DependencyGraph) -> list[dict[str, Any]]:
    """Every edge of the graph, its ends named by number."""
    epic_number = {e.id: e.number for e in graph.epics}
    story_number = {s.id: s.number for s in graph.stories}
    rows = [
        {
            "type": "epic",
            "dependent": epic_number.get(e.dependent_id),
            "depends_on": epic_number.get(e.depends_on_id),
            "id": str(e.id),
        }
        for e in graph.epic_dependencies
    ]
    rows += [
        {
            "type": "story",
            "dependent": story_number.get(e.dependent_id),
            "depends_on": story_number.get(e.depends_on_id),
            "id": str(e.id),
        }
        for e in graph.story_dependencies
    ]
    return rows


@deps.command("list")
@remote
def dep_list(ctx: typer.Context, project: OptionalProjectArgument = None) -> None:
    """Every dependency of a project, by number: epic edges, then story edges."""
    with client_for(ctx) as client:
        graph = client.dependency_graph(handles.project_id(client, project))
    emit_for(ctx, edge_rows(graph), EDGE_COLUMNS)


def tree(graph: DependencyGraph, title: str) -> Tree:
    """Epics and their stories, each with what it waits for (plain Text: no markup from
    titles)."""
    epic_number = {e.id: e.number for e in graph.epics}
    story_number = {s.id: s.number for s in graph.stories}
    waits: dict[UUID, list[str]] = {}
    for e in graph.epic_dependencies:
        waits.setdefault(e.dependent_id, []).append(f"epic {epic_number.get(e.depends_on_id)}")
    for e in graph.story_dependencies:
        waits.setdefault(e.dependent_id, []).append(str(story_number.get(e.depends_on_id)))

    def label(head: str, rest: str, node: UUID) -> Text:
        text = Text(head, style="bold")
        text.append(f" {rest}")
        if node in waits:
            text.append(f"  waits for {', '.join(waits[node])}", style="dim")
        return text

    root = Tree(Text(title))
    branches = {e.id: root.add(label(f"Epic {e.number}", e.title, e.id)) for e in graph.epics}
    for s in graph.stories:
        rest = f"{s.title} ({s.agent_status}, {s.verified_status})"
        branches[s.epic_id].add(label(s.number, rest, s.id))
    return root


@deps.command("graph")
@remote
def dep_graph(ctx: typer.Context, project: OptionalProjectArgument = None) -> None:
    """The project's dependency graph: JSON, a tree (table), or its edges (CSV)."""
    with client_for(ctx) as client:
        target = handles.project_id(client, project)
        graph = client.dependency_graph(target)
        name = project or client.default_project or str(target)
    fmt = format_for(ctx)
    if fmt is Format.json:
        emit(graph, fmt)
    elif fmt is Format.csv:
        emit(edge_rows(graph), fmt, EDGE_COLUMNS)
    else:
        terminal = sys.stdout.isatty()
        console = Console(no_color=not terminal, highlight=False, width=None if terminal else 200)
        console.print(tree(graph, f"project {name}"))


@remote
def critical_path(ctx: typer.Context, project: OptionalProjectArgument = None) -> None:
    """The longest chain of unverified stories: what to finish first."""
    with client_for(ctx) as client:
        found = client.critical_path(handles.project_id(client, project))
    if format_for(ctx) is Format.json:
        emit_for(ctx, found)
        return
    caption = f"total {found.total:g} ({found.weight})"
    emit_for(ctx, found.stories, PATH_COLUMNS, caption=caption)
