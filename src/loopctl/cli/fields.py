"""Options for the fields of projects, epics and stories, and the changes they make.

An update sends only the fields given; ``--clear FIELD`` sends null for a field that may be
cleared. JSON fields (metadata, criteria) are given inline, as ``@FILE`` or ``-`` (stdin).
"""

from collections.abc import Iterable
from typing import Annotated, Any

import typer

from loopctl.cli.errors import UsageProblem
from loopctl.cli.inputs import json_object, json_value

Text = Annotated[str | None, typer.Option()]
DescriptionOption = Annotated[str | None, typer.Option(help="Free text.")]
MetadataOption = Annotated[
    str | None,
    typer.Option(
        "--metadata",
        metavar="JSON",
        help="A JSON object (replaces the whole object), @FILE or -.",
    ),
]
ClearOption = Annotated[
    list[str] | None,
    typer.Option("--clear", metavar="FIELD", help="Set this field to null (repeatable)."),
]
CriterionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--criterion", "-c", metavar="TEXT", help="An acceptance criterion (repeatable, in order)."
    ),
]
CriteriaOption = Annotated[
    str | None,
    typer.Option(
        "--criteria",
        metavar="JSON",
        help='Criteria as JSON ([{"id": "AC-1", "criterion": "…"}]), @FILE or -.',
    ),
]
HoursOption = Annotated[
    float | None, typer.Option("--hours", min=0, help="The estimate, in hours.")
]


def given(**values: Any) -> dict[str, Any]:
    """The fields given a value (None: not given)."""
    return {name: value for name, value in values.items() if value is not None}


def metadata(source: str | None) -> dict[str, Any] | None:
    return None if source is None else json_object(source, "--metadata")


def criteria(texts: list[str] | None, source: str | None) -> list[Any] | None:
    """``--criterion`` texts or ``--criteria`` JSON (not both); None when neither."""
    if texts and source is not None:
        raise UsageProblem("bad_option", "give --criterion or --criteria, not both")
    if texts:
        return [{"criterion": text} for text in texts]
    if source is None:
        return None
    value = json_value(source, "--criteria")
    if not isinstance(value, list):
        raise UsageProblem("bad_json", "--criteria: expected a JSON list")
    return value


def cleared(names: list[str] | None, allowed: Iterable[str]) -> dict[str, None]:
    """``--clear`` fields as nulls; a field that cannot be cleared is a usage error."""
    can = sorted(allowed)
    found: dict[str, None] = {}
    for name in names or []:
        field = name.replace("-", "_")
        if field not in can:
            raise UsageProblem("bad_option", f"--clear {name}: only {', '.join(can)}")
        found[field] = None
    return found


def changes(values: dict[str, Any], nulls: dict[str, None]) -> dict[str, Any]:
    """An update's body; an empty one is a usage error (nothing would change)."""
    both = set(values) & set(nulls)
    if both:
        raise UsageProblem("bad_option", f"{', '.join(sorted(both))}: given and cleared")
    body = {**values, **nulls}
    if not body:
        raise UsageProblem("nothing_to_change", "give at least one field to change")
    return body
