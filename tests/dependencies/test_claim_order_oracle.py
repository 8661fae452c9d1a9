"""The claim order's graph part against brute force on random DAGs: each story's heaviest
chain through the stories waiting for it, and how many stories wait for it directly."""

import random
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from loopctl.dependencies.graph_path import chains_below, direct_dependents, heaviest_chain
from tests.dependencies.test_path_oracle import Dag, columns, dags, waits_for


def dependents_of(direct: list[set[int]]) -> list[set[int]]:
    """For each story, the stories that wait for it directly (epic edges expanded)."""
    waiting: list[set[int]] = [set() for _ in direct]
    for story, prerequisites in enumerate(direct):
        for b in prerequisites:
            waiting[b].add(story)
    return waiting


def brute_chains(weights: list[int], waiting: list[set[int]]) -> list[int]:
    """Every path down from each story tried (exponential; small graphs)."""

    @cache
    def heaviest_below(story: int) -> int:
        return weights[story] + max((heaviest_below(w) for w in waiting[story]), default=0)

    return [heaviest_below(s) for s in range(len(weights))]


def integer_weights(dag: Dag) -> list[int]:
    return [round(w * 100) for w in dag[0]]


@settings(max_examples=300)
@given(dags(), st.randoms(use_true_random=False))
def test_chains_and_dependents_match_brute_force_whatever_the_edge_order(
    dag: Dag, rng: random.Random
) -> None:
    _, epic_of, epics, story_edges, epic_edges = dag
    weights = integer_weights(dag)
    waiting = dependents_of(waits_for(epic_of, story_edges, epic_edges))
    rng.shuffle(story_edges)
    rng.shuffle(epic_edges)
    chains = chains_below(weights, epic_of, epics, columns(story_edges), columns(epic_edges))
    assert chains == brute_chains(weights, waiting)
    unblocks = direct_dependents(epic_of, epics, columns(story_edges), columns(epic_edges))
    assert unblocks == [len(w) for w in waiting]


@settings(max_examples=300)
@given(dags())
def test_the_critical_paths_first_story_has_the_greatest_chain_of_the_unblocked(
    dag: Dag,
) -> None:
    # The property claim-next rests on: among stories waiting for nothing, the greatest
    # chain below is the critical path's total, and the path's first story has it.
    _, epic_of, epics, story_edges, epic_edges = dag
    weights = integer_weights(dag)
    direct = waits_for(epic_of, story_edges, epic_edges)
    chains = chains_below(weights, epic_of, epics, columns(story_edges), columns(epic_edges))
    path, total = heaviest_chain(
        [float(w) for w in weights], epic_of, epics, columns(story_edges), columns(epic_edges)
    )
    if not path:
        return
    free = [s for s in range(len(weights)) if not direct[s]]
    assert not direct[path[0]]
    assert chains[path[0]] == total == max(chains[s] for s in free)


def test_an_epic_edge_makes_every_story_of_the_epic_a_dependent() -> None:
    # Epic 1 (stories 2, 3) depends on epic 0 (stories 0, 1); story 3 also has a story
    # edge to story 0, counted once.
    epic_of, edges, epic_edges = [0, 0, 1, 1], ([3], [0]), ([1], [0])
    assert direct_dependents(epic_of, 2, edges, epic_edges) == [2, 2, 0, 0]
    assert chains_below([1, 5, 2, 1], epic_of, 2, edges, epic_edges) == [3, 7, 2, 1]
