"""Human handles for projects, epics and stories, turned into ids.

How commands use them: take the handle as a plain ``str`` (the annotations below give the
metavar and help), open the client with ``client_for(ctx)`` (cli/remote.py), then::

    story = handles.story_id(client, ref, project)   # -> UUID
    client.get_story(story)

A handle is
- a project: its slug (``shop``) or its id; none given means the default project
  (``LOOPCTL_PROJECT``, else the profile's ``project``: ``client.default_project``);
- an epic: its number (``3``) in the given or default project, ``shop/3``, or its id;
- a story: its number (``1.2``) in the given or default project, ``shop/1.2``, or its id.
``loopctl story show shop 1.2`` passes two words: ``StoryWords`` and ``story_words`` split them.

A malformed handle, or one naming two different projects, is a usage error (exit 2, code
``bad_handle``); no project anywhere is ``no_project`` (exit 2); a handle naming nothing is
the server's ``project_not_found``/``epic_not_found``/``story_not_found`` (exit 5). A UUID is
used as given (the command's own request then fails with 404 if it names nothing); any
other handle costs one request, ``GET /api/v1/lookup`` (``Client.lookup``), never a scan.
"""

import re
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import typer

from loopctl.cli.errors import CliError, UsageProblem
from loopctl.cli.exit_codes import ExitCode
from loopctl.client import Client

# The server's own rules: kit/schemas.py (Slug), epics (EpicNumber), stories (NUMBER_PATTERN).
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])$")
_EPIC_NUMBER = re.compile(r"^[1-9][0-9]{0,9}$")
_STORY_NUMBER = re.compile(r"^(0|[1-9][0-9]{0,4})(\.(0|[1-9][0-9]{0,4})){0,3}$")

PROJECT_HELP = "A project: its slug or id (default: LOOPCTL_PROJECT, or the profile's project)."
EPIC_HELP = "An epic: its number (3), PROJECT/NUMBER (shop/3), or its id."
STORY_HELP = "A story: its number (1.2), PROJECT/NUMBER (shop/1.2), PROJECT NUMBER, or its id."

ProjectArgument = Annotated[str, typer.Argument(metavar="PROJECT", help=PROJECT_HELP)]
# For `project show [PROJECT]` and the like: none given means the default project.
OptionalProjectArgument = Annotated[
    str | None, typer.Argument(metavar="[PROJECT]", help=PROJECT_HELP)
]
ProjectOption = Annotated[
    str | None, typer.Option("--project", "-p", metavar="PROJECT", help=PROJECT_HELP)
]
EpicArgument = Annotated[str, typer.Argument(metavar="EPIC", help=EPIC_HELP)]
EpicOption = Annotated[str | None, typer.Option("--epic", metavar="EPIC", help=EPIC_HELP)]
StoryWords = Annotated[list[str], typer.Argument(metavar="[PROJECT] STORY", help=STORY_HELP)]


@dataclass(frozen=True)
class Parsed:
    """A handle taken apart: an id, or a number within a project (None: the default one)."""

    id: UUID | None = None
    project: str | None = None
    number: str | None = None


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _bad(kind: str, ref: str, expected: str) -> UsageProblem:
    return UsageProblem("bad_handle", f"{kind} {ref!r}: expected {expected}")


def parse_project(ref: str) -> Parsed:
    """``shop`` or a UUID."""
    text = ref.strip()
    found = _uuid(text)
    if found is not None:
        return Parsed(id=found)
    if not _SLUG.match(text):
        raise _bad("project", ref, "a slug (lowercase letters, digits, '-') or an id")
    return Parsed(project=text)


def _parse_numbered(kind: str, ref: str, number: re.Pattern[str], example: str) -> Parsed:
    text = ref.strip()
    found = _uuid(text)
    if found is not None:
        return Parsed(id=found)
    project, slash, rest = text.rpartition("/")
    expected = f"NUMBER ({example}), PROJECT/NUMBER (shop/{example}) or an id"
    if not number.match(rest) or (slash and not _SLUG.match(project) and _uuid(project) is None):
        raise _bad(kind, ref, expected)
    return Parsed(project=project or None, number=rest)


def parse_epic(ref: str) -> Parsed:
    """``3``, ``shop/3`` or a UUID."""
    return _parse_numbered("epic", ref, _EPIC_NUMBER, "3")


def parse_story(ref: str) -> Parsed:
    """``1.2``, ``shop/1.2`` or a UUID."""
    return _parse_numbered("story", ref, _STORY_NUMBER, "1.2")


def story_words(words: list[str]) -> tuple[str, str | None]:
    """``[STORY]`` or ``[PROJECT, STORY]`` (``StoryWords``) as ``(story ref, project ref)``."""
    if len(words) == 1:
        return words[0], None
    if len(words) == 2:
        return words[1], words[0]
    raise UsageProblem("bad_handle", "expected a story, or a project and a story (shop 1.2)")


def _project_ref(client: Client, inline: str | None, given: str | None) -> str:
    """The project a numbered handle lives in: inline (``shop/…``), given, else the default."""
    if inline and given and inline != given:
        raise UsageProblem(
            "bad_handle", f"the handle names project {inline!r} but the project given is {given!r}"
        )
    chosen = inline or given or client.default_project
    if not chosen:
        raise UsageProblem(
            "no_project",
            "no project given: name one (shop/1.2, --project), set LOOPCTL_PROJECT, or "
            "`loopctl config set project SLUG`",
        )
    return chosen


def _resolve(client: Client, project: str, epic: str | None, story: str | None) -> UUID:
    """The id of the project, or of its epic or story: one GET /api/v1/lookup (an id alone,
    none)."""
    parsed = parse_project(project)
    if parsed.id is not None and epic is None and story is None:
        return parsed.id
    found = client.lookup(project, epic=int(epic) if epic else None, story=story)
    # The server answers 404 rather than leave out what was asked for.
    wanted = found.story if story is not None else found.epic if epic is not None else found.project
    if wanted is None:
        raise CliError(
            "bad_response", "the server's lookup left out what was asked", exit_code=ExitCode.SERVER
        )
    return wanted.id


def project_id(client: Client, ref: str | None) -> UUID:
    """The id of the project ``ref`` names (a slug or an id), or of the default project."""
    return _resolve(client, _project_ref(client, ref, None), None, None)


def epic_id(client: Client, ref: str, project: str | None) -> UUID:
    """The id of the epic ``ref`` names (``3``, ``shop/3``, an id) in ``project`` or the default."""
    parsed = parse_epic(ref)
    if parsed.id is not None:
        return parsed.id
    return _resolve(client, _project_ref(client, parsed.project, project), parsed.number, None)


def story_id(client: Client, ref: str, project: str | None) -> UUID:
    """The id of the story ``ref`` names (``1.2``, ``shop/1.2``, an id) in ``project`` or the
    default."""
    parsed = parse_story(ref)
    if parsed.id is not None:
        return parsed.id
    return _resolve(client, _project_ref(client, parsed.project, project), None, parsed.number)


def filters(
    client: Client, project: str | None, epic: str | None
) -> tuple[UUID | None, UUID | None]:
    """``--project``/``--epic`` filters as ids; no ``--project`` means every project, not the
    default one (an epic number still needs one: given, inline or default)."""
    project_filter = project_id(client, project) if project else None
    epic_filter = epic_id(client, epic, project) if epic else None
    return project_filter, epic_filter
