"""The heaviest chain of stories, in time linear in the size of the graph.

The rules are those of graph.py: a story waits for the stories it depends on and for every
story of every epic its epic depends on. Every node is a small integer so that the walk
touches only lists of ints and floats (hashing tens of thousands of UUIDs or tuples cost
most of the time before, docs/benchmarks.md):

- stories are ``0 .. n-1`` (``weights[i]`` and ``epic_of[i]`` describe story ``i``);
- epic ``k`` has two gates: ``needs(k) = n + k`` ("everything epic k depends on"), which
  every story of k points to, and ``all(k) = n + m + k`` ("every story of k"), which the
  ``needs`` gate of each epic depending on k points to.

So an epic edge costs one graph edge, not |stories of A| x |stories of P|. The walk is
Kahn's algorithm from the sinks (stories waiting for nothing): a node is valued once every
node it waits for is, so each edge is looked at once.

Ties are broken towards the lower index at every step, so the chain does not depend on
the order the edges come in: given stories in project order, the earliest story wins.
"""

from collections.abc import Sequence


def heaviest_chain(
    weights: Sequence[float],
    epic_of: Sequence[int],
    epic_count: int,
    story_edges: tuple[Sequence[int], Sequence[int]],
    epic_edges: tuple[Sequence[int], Sequence[int]],
) -> tuple[list[int], float]:
    """The heaviest chain of stories (first to be done first) and its total weight.

    ``story_edges`` is (dependents, depended-on) as two parallel sequences of story indexes,
    ``epic_edges`` likewise of epic indexes (``0 .. epic_count-1``). Weights must not be
    negative. The graph must be acyclic; stories on a cycle, if any, are valued 0.
    """
    n = len(weights)
    if n == 0:
        return [], 0.0
    waiters, pending = _gate_graph(epic_of, epic_count, story_edges, epic_edges)
    size = len(pending)
    own = [*weights, *([0.0] * (2 * epic_count))]
    # value: the heaviest chain ending at the node (the node and its prerequisites).
    value = [0.0] * size
    below = [0.0] * size  # the heaviest chain of the node's prerequisites
    via = [-1] * size  # the prerequisite that chain ends with (-1: none yet)
    # Stories in that chain: between chains of equal weight the longer one is taken, so a
    # prerequisite estimated at 0 hours stays on the path, which then starts at a story
    # waiting for nothing.
    counted = [0] * size
    ready = [x for x in range(size) if not pending[x]]
    while ready:
        x = ready.pop()
        total = value[x] = own[x] + below[x]
        stories = counted[x] + (1 if x < n else 0)
        for w in waiters[x]:
            # Weights are never negative (a CHECK on the column): an unset below[w] is 0.0
            # and any total at least that, so a tie is where the first one is taken.
            heaviest, longest = below[w], counted[w]
            if total > heaviest or (
                total == heaviest
                and (via[w] < 0 or stories > longest or (stories == longest and x < via[w]))
            ):
                below[w] = total
                counted[w] = stories
                via[w] = x
            left = pending[w] - 1
            pending[w] = left
            if not left:
                ready.append(w)

    last = max(range(n), key=value.__getitem__)  # the first of the heaviest
    chain: list[int] = []
    node = last
    while node >= 0:
        if node < n:
            chain.append(node)
        node = via[node]
    chain.reverse()
    return chain, value[last]


def _gate_graph(
    epic_of: Sequence[int],
    epic_count: int,
    story_edges: tuple[Sequence[int], Sequence[int]],
    epic_edges: tuple[Sequence[int], Sequence[int]],
) -> tuple[list[list[int]], list[int]]:
    """waiters[x]: the nodes that wait for x; pending[x]: how many nodes x waits for."""
    n = len(epic_of)
    needs, every = n, n + epic_count  # offsets of the two gates of each epic
    size = n + 2 * epic_count
    waiters: list[list[int]] = [[] for _ in range(size)]
    pending = [0] * size
    waiting_epics, awaited_epics = epic_edges
    for a, b in zip(waiting_epics, awaited_epics, strict=True):
        waiters[every + b].append(needs + a)  # needs(a) -> all(b)
        pending[needs + a] += 1
    # Gates nothing passes through are left out: fewer nodes to walk.
    for story, epic in enumerate(epic_of):
        if pending[needs + epic]:
            waiters[needs + epic].append(story)  # story -> needs(its epic)
            pending[story] = 1
        if waiters[every + epic]:
            waiters[story].append(every + epic)  # all(epic) -> story
            pending[every + epic] += 1
    dependents, depended_on = story_edges
    for a, b in zip(dependents, depended_on, strict=True):
        waiters[b].append(a)
        pending[a] += 1
    return waiters, pending


def chains_below(
    weights: Sequence[int],
    epic_of: Sequence[int],
    epic_count: int,
    story_edges: tuple[Sequence[int], Sequence[int]],
    epic_edges: tuple[Sequence[int], Sequence[int]],
) -> list[int]:
    """For each story, the weight of the heaviest chain that starts at it and goes on
    through the stories waiting for it (the story itself included). Same graph and
    arguments as ``heaviest_chain``; weights are integers so that equal chains compare
    equal whatever order they were added in. A story with nothing unverified to wait for
    starts the critical path exactly when its value is the path's total.
    """
    n = len(weights)
    waiters, pending = _gate_graph(epic_of, epic_count, story_edges, epic_edges)
    # Kahn's order from the stories waiting for nothing: each node after all it waits for.
    order = [x for x in range(len(pending)) if not pending[x]]
    for x in order:  # the list grows while it is walked
        for w in waiters[x]:
            pending[w] -= 1
            if not pending[w]:
                order.append(w)
    own = [*weights, *([0] * (len(pending) - n))]
    below = [0] * len(pending)
    for x in reversed(order):  # waiters first
        below[x] = own[x] + max((below[w] for w in waiters[x]), default=0)
    return below[:n]


def direct_dependents(
    epic_of: Sequence[int],
    epic_count: int,
    story_edges: tuple[Sequence[int], Sequence[int]],
    epic_edges: tuple[Sequence[int], Sequence[int]],
) -> list[int]:
    """For each story, how many stories wait for it directly: those with a story
    dependency on it and those of the epics that depend on its epic, each counted once."""
    members = [0] * epic_count
    for epic in epic_of:
        members[epic] += 1
    waiting_on: list[set[int]] = [set() for _ in range(epic_count)]  # epic -> dependent epics
    for a, b in zip(*epic_edges, strict=True):
        waiting_on[b].add(a)
    through_epics = [sum(members[a] for a in waiting_on[e]) for e in range(epic_count)]
    counts = [through_epics[epic] for epic in epic_of]
    for a, b in zip(*story_edges, strict=True):
        if epic_of[a] not in waiting_on[epic_of[b]]:  # already counted through its epic
            counts[b] += 1
    return counts
