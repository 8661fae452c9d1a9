"""The linear critical-path walk against a brute force over every path, on random DAGs.

The oracle expands epic edges the slow way (each story of A waits for each story of P) and
tries every chain; the walk must find one of the same weight, and what it returns must be
a real chain whose weights add up to its total.
"""

import itertools
import random
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from loopctl.dependencies.graph_path import heaviest_chain

# weights, epic of each story, epic count, story edges, epic edges
Dag = tuple[list[float], list[int], int, list[tuple[int, int]], list[tuple[int, int]]]


def waits_for(
    epic_of: list[int], story_edges: list[tuple[int, int]], epic_edges: list[tuple[int, int]]
) -> list[set[int]]:
    """For each story, the stories it waits for directly, epic edges expanded."""
    direct = [set[int]() for _ in epic_of]
    for a, b in story_edges:
        direct[a].add(b)
    for a_epic, b_epic in epic_edges:
        for a, epic in enumerate(epic_of):
            if epic == a_epic:
                direct[a] |= {b for b, other in enumerate(epic_of) if other == b_epic}
    return direct


def brute_force(weights: list[float], direct: list[set[int]]) -> float:
    """The weight of the heaviest chain, trying every path (exponential; small graphs)."""

    @cache
    def heaviest_from(story: int) -> float:
        return weights[story] + max((heaviest_from(b) for b in direct[story]), default=0.0)

    return max((heaviest_from(s) for s in range(len(weights))), default=0.0)


@st.composite
def dags(draw: st.DrawFn) -> Dag:
    """Stories ordered so that every edge, of either kind, points to an earlier position:
    acyclic at both levels and across them."""
    epics = draw(st.integers(1, 5))
    epic_of = sorted(draw(st.lists(st.integers(0, epics - 1), max_size=12)))
    n = len(epic_of)
    weights = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.5, 8.0]), min_size=n, max_size=n))
    pairs = draw(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30))
    story_edges = sorted({(a, b) for a, b in pairs if b < a < n})
    epic_pairs = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6))
    epic_edges = sorted({(a, b) for a, b in epic_pairs if b < a < epics})
    return weights, epic_of, epics, story_edges, epic_edges


def columns(edges: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    return [a for a, _ in edges], [b for _, b in edges]


@settings(max_examples=300)
@given(dags(), st.randoms(use_true_random=False))
def test_the_walk_finds_a_heaviest_chain_whatever_the_edge_order(
    dag: Dag,
    rng: random.Random,
) -> None:
    weights, epic_of, epics, story_edges, epic_edges = dag
    chain, total = heaviest_chain(
        weights, epic_of, epics, columns(story_edges), columns(epic_edges)
    )
    direct = waits_for(epic_of, story_edges, epic_edges)
    assert total == brute_force(weights, direct)
    assert sum(weights[s] for s in chain) == total
    # In the order of work: each story waits for the one before it.
    assert all(earlier in direct[later] for earlier, later in itertools.pairwise(chain))
    if weights:
        assert chain  # a chain has at least one story whenever there are stories
    # Ties are broken by index, not by the order the edges arrive in.
    rng.shuffle(story_edges)
    rng.shuffle(epic_edges)
    again = heaviest_chain(weights, epic_of, epics, columns(story_edges), columns(epic_edges))
    assert again == (chain, total)


def test_an_epic_edge_costs_one_step_not_every_pair() -> None:
    # Epic 1 (stories 2, 3) waits for epic 0 (stories 0, 1): the chain runs through the
    # heavier story of each epic.
    chain, total = heaviest_chain([1.0, 5.0, 2.0, 1.0], [0, 0, 1, 1], 2, ([], []), ([1], [0]))
    assert (chain, total) == ([1, 2], 7.0)


def test_ties_go_to_the_story_first_in_order() -> None:
    chain, total = heaviest_chain([1.0, 1.0, 1.0], [0, 0, 0], 1, ([], []), ([], []))
    assert (chain, total) == ([0], 1.0)
    chain, total = heaviest_chain([1.0, 1.0, 1.0], [0, 0, 0], 1, ([2, 2], [1, 0]), ([], []))
    assert (chain, total) == ([0, 2], 2.0)


def test_no_stories_no_chain() -> None:
    assert heaviest_chain([], [], 3, ([], []), ([1], [0])) == ([], 0.0)
