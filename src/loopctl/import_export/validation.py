"""The document's own rules, checked against the project as it is: limits, numbers,
references and progress fields. Every problem names its JSON path
(``body.epics[3].stories[7].number``), like request validation errors do.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from loopctl.epics.rows import EpicFields
from loopctl.import_export.schemas import MAX_ERRORS, DocEpic, DocStory, Limits, ProjectDocument
from loopctl.kit.ids import new_id
from loopctl.stories.rows import StoryFields

# Claims belong to a live agent's lease; a document cannot bring one along.
IN_FLIGHT = {"contracted", "assigned", "implementing"}
NO_PROGRESS = ("pending", "unverified")
# A status the document gives: (the field it came in, the value).
Given = tuple[str, str]


@dataclass(frozen=True)
class Kind:
    """How problems name a kind of item: epics by their number, stories by a quoted one."""

    article: str
    noun: str
    show: Callable[[object], str]

    def name(self, number: object) -> str:
        return f"{self.noun} {self.show(number)}"


EPIC = Kind("an epic", "epic", str)
STORY = Kind("a story", "story", repr)
# An item's number: an epic's int or a story's str.
N = TypeVar("N", int, str)


def epic_path(i: int) -> str:
    return f"body.epics[{i}]"


def story_path(i: int, j: int) -> str:
    return f"body.epics[{i}].stories[{j}]"


@dataclass
class Problems:
    """Problems found so far: the first MAX_ERRORS in full, the rest counted."""

    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def add(self, path: str, message: str, type_: str) -> None:
        self.total += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append({"field": path, "message": message, "type": type_})


@dataclass
class Resolved:
    """The document's numbers resolved to ids, and where each edge came from."""

    epic_ids: dict[int, UUID] = field(default_factory=dict)
    story_ids: dict[str, UUID] = field(default_factory=dict)
    # The epic (number) every story of the project will be in.
    epic_of: dict[str, int] = field(default_factory=dict)
    story_paths: dict[str, str] = field(default_factory=dict)
    story_edge_paths: dict[tuple[str, str], str] = field(default_factory=dict)
    epic_edge_paths: dict[tuple[int, int], str] = field(default_factory=dict)
    # The fields that give new stories progress (which needs a user key).
    status_paths: list[str] = field(default_factory=list)
    # (agent_status, verified_status) of each new story with progress, by number.
    progress: dict[str, tuple[str, str]] = field(default_factory=dict)


def given_progress(story: DocStory, *, reference: bool) -> tuple[Given | None, Given | None]:
    """The progress a story of the document gives: the reference's initial_* fields, or
    (in loopctl's own documents only) agent_status and verified_status. In the reference's
    documents those two are what its export reports, and it never imports them either."""
    out: list[Given | None] = []
    for initial, plain in (
        ("initial_agent_status", "agent_status"),
        ("initial_verified_status", "verified_status"),
    ):
        value = getattr(story, initial)
        if value is not None:
            out.append((initial, value))
        elif not reference and getattr(story, plain) is not None:
            out.append((plain, getattr(story, plain)))
        else:
            out.append(None)
    return out[0], out[1]


class Checker:
    def __init__(
        self,
        doc: ProjectDocument,
        old_epics: dict[int, EpicFields],
        old_stories: dict[str, StoryFields],
        limits: Limits,
        problems: Problems,
    ) -> None:
        self.doc = doc
        self.old_epics = old_epics
        self.old_stories = old_stories
        self.limits = limits
        self.problems = problems
        self.out = Resolved(
            epic_ids={n: e.id for n, e in old_epics.items()},
            story_ids={n: s.id for n, s in old_stories.items()},
        )

    def run(self) -> Resolved | None:
        if not self._within_limits():
            return None
        self._numbers()
        for i, epic in enumerate(self.doc.epics):
            self._epic_refs(i, epic)
            for j, story in enumerate(epic.stories):
                self._story_refs(i, j, story)
                self._status(story_path(i, j), story)
        self._listed_story_edges()
        self._listed_epic_edges()
        return self.out

    def _within_limits(self) -> bool:
        stories = sum(len(e.stories) for e in self.doc.epics)
        edges = sum(len(s.depends_on) for e in self.doc.epics for s in e.stories)
        edges += len(self.doc.story_dependencies)
        epic_edges = sum(len(e.depends_on) for e in self.doc.epics)
        epic_edges += len(self.doc.epic_dependencies)
        for count, limit, what in (
            (len(self.doc.epics), self.limits.epics, "epics"),
            (stories, self.limits.stories, "stories"),
            (edges, self.limits.story_dependencies, "story dependencies"),
            (epic_edges, self.limits.epic_dependencies, "epic dependencies"),
        ):
            if count > limit:
                self.problems.add(
                    "body.epics",
                    f"the document has {count} {what}; an import takes at most {limit}",
                    "too_many",
                )
        return not self.problems.total

    def _numbers(self) -> None:
        epic_at: dict[int, int] = {}
        story_at: dict[str, tuple[int, int]] = {}
        number_of = {e.id: n for n, e in self.old_epics.items()}
        for number, old in self.old_stories.items():
            self.out.epic_of[number] = number_of[old.epic_id]
        for i, epic in enumerate(self.doc.epics):
            first = epic_at.setdefault(epic.number, i)
            if first != i:
                self.problems.add(
                    f"{epic_path(i)}.number",
                    f"duplicate epic number {epic.number}; also at {epic_path(first)}",
                    "duplicate",
                )
            self.out.epic_ids.setdefault(epic.number, new_id())
            for j, story in enumerate(epic.stories):
                seen = story_at.setdefault(story.number, (i, j))
                if seen != (i, j):
                    self.problems.add(
                        f"{story_path(i, j)}.number",
                        f"duplicate story number {story.number!r}; also at {story_path(*seen)}",
                        "duplicate",
                    )
                    continue
                self.out.story_ids.setdefault(story.number, new_id())
                self.out.epic_of[story.number] = epic.number
                self.out.story_paths[story.number] = story_path(i, j)

    def _epic_refs(self, i: int, epic: DocEpic) -> None:
        out = self.out
        self._refs(
            epic_path(i), EPIC, epic.number, epic.depends_on, out.epic_ids, out.epic_edge_paths
        )

    def _story_refs(self, i: int, j: int, story: DocStory) -> None:
        out = self.out
        self._refs(
            story_path(i, j),
            STORY,
            story.number,
            story.depends_on,
            out.story_ids,
            out.story_edge_paths,
        )

    def _refs(
        self,
        at: str,
        kind: Kind,
        number: N,
        targets: Sequence[N],
        ids: Mapping[N, UUID],
        edge_paths: dict[tuple[N, N], str],
    ) -> None:
        """An item's own depends_on list: each target once, known, and not the item itself."""
        seen: set[N] = set()
        for k, target in enumerate(targets):
            path = f"{at}.depends_on[{k}]"
            if target == number:
                self.problems.add(
                    path, f"{kind.article} cannot depend on itself", "self_dependency"
                )
            elif target not in ids:
                self.problems.add(
                    path,
                    f"no {kind.name(target)} in the document or the project",
                    "unknown_reference",
                )
            elif target in seen:
                self.problems.add(path, f"{kind.name(target)} is listed twice", "duplicate")
            else:
                edge_paths.setdefault((number, target), path)
            seen.add(target)

    def _listed_story_edges(self) -> None:
        """The top-level story_dependencies (the reference's form), checked like depends_on."""
        edges = [((e.story, e.depends_on), e.names) for e in self.doc.story_dependencies]
        out = self.out
        self._listed("story_dependencies", STORY, edges, out.story_ids, out.story_edge_paths)

    def _listed_epic_edges(self) -> None:
        edges = [((e.epic, e.depends_on), e.names) for e in self.doc.epic_dependencies]
        self._listed("epic_dependencies", EPIC, edges, self.out.epic_ids, self.out.epic_edge_paths)

    def _listed(
        self,
        name: str,
        kind: Kind,
        edges: Sequence[tuple[tuple[N, N], tuple[str, str]]],
        ids: Mapping[N, UUID],
        edge_paths: dict[tuple[N, N], str],
    ) -> None:
        """A top-level list of (item, depends_on) edges; ``names`` are the keys the client used."""
        for k, (pair, names) in enumerate(edges):
            path = f"body.{name}[{k}]"
            missing = [(n, at) for n, at in zip(pair, names, strict=True) if n not in ids]
            if pair[0] == pair[1]:
                self.problems.add(
                    path, f"{kind.article} cannot depend on itself", "self_dependency"
                )
            elif missing:
                for number, at in missing:
                    self.problems.add(
                        f"{path}.{at}",
                        f"no {kind.name(number)} in the document or the project",
                        "unknown_reference",
                    )
            elif pair in edge_paths:
                self.problems.add(
                    path,
                    f"{kind.name(pair[0])} already depends on {kind.show(pair[1])} at "
                    f"{edge_paths[pair]}",
                    "duplicate",
                )
            else:
                edge_paths[pair] = path

    def _status(self, path: str, story: DocStory) -> None:
        reference = self.doc.reference
        if not reference:
            for initial, plain in (
                ("initial_agent_status", "agent_status"),
                ("initial_verified_status", "verified_status"),
            ):
                both = (getattr(story, initial), getattr(story, plain))
                if None not in both and both[0] != both[1]:
                    self.problems.add(
                        f"{path}.{initial}",
                        f"contradicts {plain}; give one of the two",
                        "status_not_importable",
                    )
        current = self.old_stories.get(story.number)
        if current is not None:
            self._kept(path, story, current, reference)
            return
        agent, verified = given_progress(story, reference=reference)
        verified_status = verified[1] if verified else "unverified"
        # A verified story was reported done: left out, that is implied.
        implied = "reported_done" if verified_status == "verified" else "pending"
        agent_status = agent[1] if agent else implied
        if agent is not None and agent_status in IN_FLIGHT:
            self.problems.add(
                f"{path}.{agent[0]}",
                f"{agent_status!r} is a claim by a live agent and cannot be imported; use "
                "pending or reported_done",
                "status_not_importable",
            )
        elif verified is not None and verified_status == "verified" and agent_status != implied:
            self.problems.add(
                f"{path}.{verified[0]}",
                "a verified story must have agent_status reported_done",
                "status_not_importable",
            )
        for given, default in ((agent, "pending"), (verified, "unverified")):
            if given is not None and given[1] != default:
                self.out.status_paths.append(f"{path}.{given[0]}")
        if (agent_status, verified_status) != NO_PROGRESS:
            self.out.progress[story.number] = (agent_status, verified_status)

    def _kept(self, path: str, story: DocStory, current: StoryFields, reference: bool) -> None:
        """An existing story keeps its progress. The reference's initial_* fields describe a
        story being created, so they do not apply to it (as in the reference)."""
        if reference:
            return
        for name in ("agent_status", "verified_status"):
            given, now = getattr(story, name), getattr(current, name)
            if given is not None and given != now:
                self.problems.add(
                    f"{path}.{name}",
                    f"this story exists with {name} {now!r}; an import keeps the progress "
                    "of existing stories, so leave the field out or give the current value",
                    "status_not_importable",
                )


def check(
    doc: ProjectDocument,
    old_epics: dict[int, EpicFields],
    old_stories: dict[str, StoryFields],
    limits: Limits,
    problems: Problems,
) -> Resolved | None:
    """The document's numbers resolved, or None if it is over the limits (then nothing
    else is checked: such a document may be too big to be worth walking)."""
    return Checker(doc, old_epics, old_stories, limits, problems).run()
