"""``import PATH`` and ``export``: a whole project as one JSON document, or as a directory.

PATH is a JSON file (ours, ``loopctl.project.v1``, or the reference's), ``-`` for stdin, or
a directory in the ``epic_<N>/us_<number>.json`` layout (cli/layout.py). ``export`` writes
the document to stdout, to ``--output FILE``, or as that layout with ``--dir DIR``, so that
``import DIR`` reads back what ``export --dir DIR`` wrote.
"""

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from loopctl.cli import handles, layout
from loopctl.cli.errors import UsageProblem
from loopctl.cli.handles import OptionalProjectArgument, ProjectOption
from loopctl.cli.inputs import json_object, note, working
from loopctl.cli.output import Format
from loopctl.cli.remote import client_for, emit_for, format_for, remote
from loopctl.import_export.schemas import ImportReport


def read_document(path: str) -> dict[str, Any]:
    """The document PATH holds: a directory's layout, a JSON file, or stdin (``-``)."""
    if path != "-" and Path(path).is_dir():
        return layout.read_dir(Path(path))
    return json_object(path if path == "-" else f"@{path}", "PATH")


SHOWN = 20  # numbers listed per line; the rest are counted


def listed(kind: str, numbers: list[Any]) -> str:
    if not numbers:
        return ""
    shown = ", ".join(str(n) for n in numbers[:SHOWN])
    more = f" and {len(numbers) - SHOWN} more" if len(numbers) > SHOWN else ""
    return f"{kind} {shown}{more}"


def report_table(report: ImportReport) -> Table:
    """What the import did, or (dry run) would do: counts, then which numbers."""
    table = Table(title=f"{report.mode} import" + (" (dry run)" if report.dry_run else ""))
    for name in ("", "created", "updated", "unchanged"):
        table.add_column(name, justify="right" if name else "left")
    for name in ("epics", "stories", "dependencies"):
        counts = getattr(report, name)
        table.add_row(name, str(counts.created), str(counts.updated), str(counts.unchanged))
    lines = Table.grid(padding=(0, 2))
    verbs = ("would create", "would update") if report.dry_run else ("created", "updated")
    changed = report.changed
    for verb, epics, stories in (
        (verbs[0], changed.epics_created, changed.stories_created),
        (verbs[1], changed.epics_updated, changed.stories_updated),
    ):
        text = "; ".join(filter(None, (listed("epics", epics), listed("stories", stories))))
        if text:
            lines.add_row(verb, text)
    orphans = [f"epic {e.number}" for e in report.orphaned.epics]
    orphans += [f"story {s.number}" for s in report.orphaned.stories]
    if orphans:
        lines.add_row("not in the document (kept)", ", ".join(orphans))
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(lines)
    return outer


@remote
def import_(
    ctx: typer.Context,
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH", help="A JSON file, - (stdin), or an epic_<N>/us_*.json directory."
        ),
    ],
    project: ProjectOption = None,
    merge: Annotated[
        bool,
        typer.Option(
            "--merge",
            help="Update a project that has epics: match by number, add what is new, keep "
            "progress, delete nothing.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check it and print what would change; write nothing.")
    ] = False,
) -> None:
    """Import a project document into a project, all or nothing (orchestrator or user key)."""
    document = read_document(path)
    with client_for(ctx) as client:
        target = handles.project_id(client, project)
        with working("importing…"):
            report = client.import_project(
                target, document, merge=merge or None, dry_run=dry_run or None
            )
    if format_for(ctx) is Format.table:
        terminal = sys.stdout.isatty()
        console = Console(no_color=not terminal, width=None if terminal else 200)
        console.print(report_table(report))
        if report.dry_run:
            console.print("dry run: this is what the import would do; nothing was written")
    else:
        emit_for(ctx, report)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so no half file is left."""
    folder = path.parent if str(path.parent) else Path()
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@remote
def export(
    ctx: typer.Context,
    project: OptionalProjectArgument = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the document to FILE."),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", metavar="DIR", help="Write epic_<N>/us_<number>.json files under DIR."
        ),
    ] = None,
) -> None:
    """Export a project as a loopctl.project.v1 document (JSON on stdout by default)."""
    if output is not None and directory is not None:
        raise UsageProblem("bad_option", "give --output or --dir, not both")
    with client_for(ctx) as client:
        target = handles.project_id(client, project)
        with working("exporting…"):
            document = client.export_project(target)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if directory is not None:
        try:
            count = layout.write_dir(document, directory)
        except OSError as exc:
            raise UsageProblem("unwritable_file", f"cannot write {directory}: {exc}") from None
        note(f"wrote {count} files under {directory}")
    elif output is not None:
        try:
            write_atomically(output, text)
        except OSError as exc:
            raise UsageProblem(
                "unwritable_file", f"cannot write {output}: {exc.strerror}"
            ) from None
        note(f"wrote {output}")
    else:
        typer.echo(text, nl=False)
