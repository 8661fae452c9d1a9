"""The dependency rules, on an in-memory project graph.

Edges point from a dependent to what it depends on ("2.1 depends on 1.3"). A story waits for:

- every story it depends on, and
- every story of every epic that its epic depends on.

Expanding epic edges this way gives a graph over stories. The project is free of deadlocks
exactly when that expanded graph has no cycle; a cycle through an epic edge is the
"cross-level deadlock" (an epic edge contradicting story edges, transitively). Epic edges
among epics without stories cannot deadlock anything, but a cycle of epics is still
rejected as meaningless.

The expansion is never materialized: each epic P becomes one gate node "all of P" that the
dependents of P point to and that points to P's stories, so the graph stays linear in size.

The database checks single edges with the same rules in SQL (dependencies/repository.py);
this module serves whole documents (import); the critical path of a stored project is
graph_path.py's walk over integer indexes.
"""

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Generic, NamedTuple, TypeVar, cast

from loopctl.dependencies.graph_path import heaviest_chain

S = TypeVar("S", bound=Hashable)
E = TypeVar("E", bound=Hashable)


class Node(NamedTuple):
    """A story, or the gate "every story of this epic" (a tuple: hashing stays in C, which
    matters on graphs of tens of thousands of nodes)."""

    kind: str  # "story" or "epic"
    key: Hashable


class DependencyGraph(Generic[S, E]):
    def __init__(
        self,
        epic_of: Mapping[S, E],
        story_edges: Iterable[tuple[S, S]],
        epic_edges: Iterable[tuple[E, E]],
        epics: Iterable[E] = (),
    ) -> None:
        self.epic_of = dict(epic_of)
        self.story_edges = list(story_edges)
        self.epic_edges = list(epic_edges)
        self.epics: set[E] = set(epics) | set(self.epic_of.values())
        for a, b in self.epic_edges:
            self.epics.update((a, b))
        # Internal adjacency is keyed by plain hashables: story and epic keys never mix
        # because every lookup goes through the node kind.
        self._of = cast(dict[Hashable, Hashable], self.epic_of)
        self.members: dict[Hashable, list[Hashable]] = {e: [] for e in self.epics}
        for story, epic in self.epic_of.items():
            self.members[epic].append(story)
        self.epic_deps: dict[Hashable, list[Hashable]] = {e: [] for e in self.epics}
        for a, b in self.epic_edges:
            self.epic_deps[a].append(b)
        self.story_deps: dict[Hashable, list[Hashable]] = {s: [] for s in self.epic_of}
        for s, t in self.story_edges:
            self.story_deps[s].append(t)

    def _successors(self, node: Node) -> list[Node]:
        if node.kind == "story":
            out = [Node("story", t) for t in self.story_deps.get(node.key, ())]
            out += [Node("epic", p) for p in self.epic_deps.get(self._of[node.key], ())]
            return out
        return [Node("story", s) for s in self.members.get(node.key, ())]

    def epic_cycle(self) -> list[Hashable] | None:
        """A cycle among epic edges alone, as [a, b, ..., a], or None."""
        return _find_cycle(list[Hashable](self.epics), lambda e: self.epic_deps.get(e, []))

    def story_cycle(self) -> list[Node] | None:
        """A cycle in the expanded story graph (gates included), as [n, ..., n], or None."""
        starts = [Node("story", s) for s in self.epic_of]
        return _find_cycle(starts, self._successors)

    def cycle(self) -> list[Node] | None:
        """The first rule broken: an epic cycle, else a story-level (possibly cross) cycle."""
        epics = self.epic_cycle()
        if epics is not None:
            return [Node("epic", e) for e in epics]
        return self.story_cycle()

    def longest_chain(
        self, weight: Callable[[S], float], include: Callable[[S], bool]
    ) -> tuple[list[S], float]:
        """The heaviest chain of included stories, in the order they must be done.

        Only included stories (e.g. unverified ones) take part; the graph must be acyclic.
        The walk itself is graph_path.heaviest_chain, over integer indexes.
        """
        stories = [s for s in self.epic_of if include(s)]
        story_index = {s: i for i, s in enumerate(stories)}
        epic_index = {e: k for k, e in enumerate(self.epics)}
        edges = [
            (story_index[a], story_index[b])
            for a, b in self.story_edges
            if a in story_index and b in story_index
        ]
        chain, total = heaviest_chain(
            [weight(s) for s in stories],
            [epic_index[self.epic_of[s]] for s in stories],
            len(epic_index),
            ([a for a, _ in edges], [b for _, b in edges]),
            (
                [epic_index[a] for a, _ in self.epic_edges],
                [epic_index[b] for _, b in self.epic_edges],
            ),
        )
        return [stories[i] for i in chain], total


N = TypeVar("N", bound=Hashable)


def _find_cycle(starts: list[N], successors: Callable[[N], list[N]]) -> list[N] | None:
    """Iterative depth-first search; returns one cycle [n, ..., n] or None."""
    state: dict[N, int] = {}  # 1: on the current path, 2: finished
    for root in starts:
        if root in state:
            continue
        path: list[N] = [root]
        iters = [iter(successors(root))]
        state[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            seen = state.get(nxt)
            if seen == 1:
                return [*path[path.index(nxt) :], nxt]
            if seen is None:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(successors(nxt)))
    return None


def shortest_path(
    edges: Iterable[tuple[N, N]], start: N, is_goal: Callable[[N], bool]
) -> list[N] | None:
    """The shortest path from ``start`` to a node that ``is_goal``, by breadth-first search."""
    following: dict[N, list[N]] = {}
    for a, b in edges:
        following.setdefault(a, []).append(b)
    parent: dict[N, N | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if is_goal(node) and node != start:
            path = [node]
            while (back := parent[path[-1]]) is not None:
                path.append(back)
            return path[::-1]
        for nxt in following.get(node, ()):
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return None
