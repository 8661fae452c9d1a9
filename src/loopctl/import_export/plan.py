"""From a document and the project as it is, to a plan: what to create, change and link, or
every reason not to. Pure (no I/O), so a dry run and a real import decide alike.
"""

from dataclasses import dataclass, field
from itertools import pairwise
from typing import cast
from uuid import UUID

from loopctl.dependencies.graph import DependencyGraph, Node
from loopctl.epics.rows import EpicFields, EpicValues
from loopctl.import_export.repository import EpicEdge, StoryEdge
from loopctl.import_export.schemas import DocStory, Limits, ProjectDocument
from loopctl.import_export.validation import NO_PROGRESS, Problems, Resolved, check, story_path
from loopctl.kit.ids import new_id
from loopctl.stories import criteria
from loopctl.stories.rows import StoryFields, StoryValues

EPIC_FIELDS = ("title", "description", "phase", "position", "metadata")
STORY_FIELDS = ("title", "description", "acceptance_criteria", "estimated_hours", "metadata")


@dataclass
class Existing:
    epics: list[EpicFields]
    stories: list[StoryFields]
    story_edges: list[tuple[UUID, UUID]]
    epic_edges: list[tuple[UUID, UUID]]


@dataclass
class Plan:
    problems: Problems = field(default_factory=Problems)
    status_paths: list[str] = field(default_factory=list)
    new_epics: list[EpicValues] = field(default_factory=list)
    changed_epics: list[tuple[EpicFields, EpicValues]] = field(default_factory=list)
    unchanged_epics: int = 0
    new_stories: list[StoryValues] = field(default_factory=list)
    changed_stories: list[tuple[StoryFields, StoryValues]] = field(default_factory=list)
    unchanged_stories: int = 0
    new_story_edges: list[StoryEdge] = field(default_factory=list)
    new_epic_edges: list[EpicEdge] = field(default_factory=list)
    unchanged_edges: int = 0
    orphaned_epics: list[EpicFields] = field(default_factory=list)
    orphaned_stories: list[StoryFields] = field(default_factory=list)
    # Every epic's and story's number after the import, by id.
    epic_numbers: dict[UUID, int] = field(default_factory=dict)
    story_numbers: dict[UUID, str] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(
            self.new_epics
            or self.changed_epics
            or self.new_stories
            or self.changed_stories
            or self.new_story_edges
            or self.new_epic_edges
        )


def make_plan(doc: ProjectDocument, existing: Existing, limits: Limits) -> Plan:
    plan = Plan()
    old_epics = {e.number: e for e in existing.epics}
    old_stories = {s.number: s for s in existing.stories}
    resolved = check(doc, old_epics, old_stories, limits, plan.problems)
    if resolved is None:
        return plan  # over the limits: nothing else is worth checking
    plan.status_paths = resolved.status_paths
    plan.epic_numbers = {eid: number for number, eid in resolved.epic_ids.items()}
    plan.story_numbers = {sid: number for number, sid in resolved.story_ids.items()}
    _epics(doc, old_epics, resolved, plan)
    _stories(doc, old_stories, resolved, plan)
    _edges(existing, resolved, plan)
    in_doc_epics = {e.number for e in doc.epics}
    plan.orphaned_epics = [e for e in existing.epics if e.number not in in_doc_epics]
    plan.orphaned_stories = [s for s in existing.stories if s.number not in resolved.story_paths]
    if not plan.problems.total:
        _cycles(existing, resolved, plan)
    return plan


def _epics(
    doc: ProjectDocument, old_epics: dict[int, EpicFields], resolved: Resolved, plan: Plan
) -> None:
    done: set[int] = set()
    for epic in doc.epics:
        if epic.number in done:
            continue  # a duplicate, already reported
        done.add(epic.number)
        old = old_epics.get(epic.number)
        source = {f: getattr(epic, f) for f in EPIC_FIELDS}
        if old is None:
            plan.new_epics.append(
                EpicValues(id=resolved.epic_ids[epic.number], number=epic.number, **source)
            )
            continue
        given = epic.model_fields_set
        values = {f: source[f] if f in given else getattr(old, f) for f in EPIC_FIELDS}
        if all(values[f] == getattr(old, f) for f in EPIC_FIELDS):
            plan.unchanged_epics += 1
        else:
            plan.changed_epics.append((old, EpicValues(id=old.id, number=old.number, **values)))


def _stories(
    doc: ProjectDocument, old_stories: dict[str, StoryFields], resolved: Resolved, plan: Plan
) -> None:
    for i, epic in enumerate(doc.epics):
        epic_id = resolved.epic_ids[epic.number]
        for j, story in enumerate(epic.stories):
            path = story_path(i, j)
            if resolved.story_paths.get(story.number) != path:
                continue  # a duplicate, already reported
            _story(story, epic_id, old_stories.get(story.number), path, resolved, plan)


def _story(
    story: DocStory,
    epic_id: UUID,
    old: StoryFields | None,
    path: str,
    resolved: Resolved,
    plan: Plan,
) -> None:
    given = story.model_fields_set
    try:
        if old is None:
            acceptance = criteria.normalize(story.acceptance_criteria)
        elif "acceptance_criteria" in given:
            acceptance = criteria.normalize(story.acceptance_criteria, old.acceptance_criteria)
        else:
            acceptance = old.acceptance_criteria
    except ValueError as exc:
        plan.problems.add(f"{path}.acceptance_criteria", str(exc), "duplicate")
        return
    source = {f: getattr(story, f) for f in STORY_FIELDS} | {"acceptance_criteria": acceptance}
    if old is None:
        agent, verified = resolved.progress.get(story.number, NO_PROGRESS)
        plan.new_stories.append(
            StoryValues(
                id=resolved.story_ids[story.number],
                epic_id=epic_id,
                number=story.number,
                agent_status=agent,
                verified_status=verified,
                **source,
            )
        )
        return
    values = {f: source[f] if f in given else getattr(old, f) for f in STORY_FIELDS}
    values["acceptance_criteria"] = acceptance
    if epic_id == old.epic_id and all(values[f] == getattr(old, f) for f in STORY_FIELDS):
        plan.unchanged_stories += 1
        return
    plan.changed_stories.append(
        (
            old,
            StoryValues(
                id=old.id,
                epic_id=epic_id,
                number=old.number,
                agent_status=old.agent_status,
                verified_status=old.verified_status,
                **values,
            ),
        )
    )


def _edges(existing: Existing, resolved: Resolved, plan: Plan) -> None:
    old_story_pairs = set(existing.story_edges)
    for s, t in resolved.story_edge_paths:
        sid, tid = resolved.story_ids[s], resolved.story_ids[t]
        if (sid, tid) in old_story_pairs:
            plan.unchanged_edges += 1
            continue
        plan.new_story_edges.append(
            StoryEdge(
                id=new_id(),
                story_id=sid,
                story_epic_id=resolved.epic_ids[resolved.epic_of[s]],
                depends_on_story_id=tid,
                depends_on_epic_id=resolved.epic_ids[resolved.epic_of[t]],
            )
        )
    old_epic_pairs = set(existing.epic_edges)
    for a, b in resolved.epic_edge_paths:
        aid, bid = resolved.epic_ids[a], resolved.epic_ids[b]
        if (aid, bid) in old_epic_pairs:
            plan.unchanged_edges += 1
        else:
            plan.new_epic_edges.append(EpicEdge(id=new_id(), epic_id=aid, depends_on_epic_id=bid))


def _cycles(existing: Existing, resolved: Resolved, plan: Plan) -> None:
    """Reject a document that, with what the project already has, would deadlock."""
    story_number = {s.id: s.number for s in existing.stories}
    epic_number = {e.id: e.number for e in existing.epics}
    story_edges = {(story_number[a], story_number[b]) for a, b in existing.story_edges}
    epic_edges = {(epic_number[a], epic_number[b]) for a, b in existing.epic_edges}
    graph: DependencyGraph[str, int] = DependencyGraph(
        resolved.epic_of,
        sorted(story_edges | set(resolved.story_edge_paths)),
        sorted(epic_edges | set(resolved.epic_edge_paths)),
        epics=resolved.epic_ids,
    )
    cycle = graph.cycle()
    if cycle is None:
        return
    plan.problems.add(
        _blame(cycle, resolved) or "body.epics",
        "dependency cycle: " + " → ".join(_label(node) for node in cycle),
        "cycle",
    )


def _label(node: Node) -> str:
    if node.kind == "story":
        return f"story {node.key}"
    return f"epic {node.key}"


def _blame(cycle: list[Node], resolved: Resolved) -> str | None:
    """The path of the first edge of the cycle that the document adds (or a story it places)."""
    for a, b in pairwise(cycle):
        if a.kind == "story" and b.kind == "story":
            path = resolved.story_edge_paths.get((_story_key(a), _story_key(b)))
        elif a.kind == "story":
            path = resolved.epic_edge_paths.get((resolved.epic_of[_story_key(a)], _epic_key(b)))
        elif b.kind == "epic":
            path = resolved.epic_edge_paths.get((_epic_key(a), _epic_key(b)))
        else:
            path = resolved.story_paths.get(_story_key(b))
        if path is not None:
            return path
    return None


def _story_key(node: Node) -> str:
    return cast(str, node.key)


def _epic_key(node: Node) -> int:
    return cast(int, node.key)
