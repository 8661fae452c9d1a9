"""The in-memory dependency rules: cycles at both levels and across them, critical chains."""

from hypothesis import given
from hypothesis import strategies as st

from loopctl.dependencies.graph import DependencyGraph, Node

# Stories "e.n" live in epic e.
EPIC_OF = {"1.1": 1, "1.2": 1, "2.1": 2, "2.2": 2, "3.1": 3}


def graph(
    story_edges: list[tuple[str, str]], epic_edges: list[tuple[int, int]]
) -> DependencyGraph[str, int]:
    return DependencyGraph(EPIC_OF, story_edges, epic_edges, epics=[1, 2, 3, 4])


def test_acyclic_graph_has_no_cycle() -> None:
    assert graph([("2.1", "1.1"), ("1.2", "1.1")], [(2, 1), (3, 2)]).cycle() is None


def test_story_cycle_is_reported_as_a_closed_path() -> None:
    found = graph([("1.1", "1.2"), ("1.2", "2.1"), ("2.1", "1.1")], []).cycle()
    assert found is not None
    assert found[0] == found[-1]
    assert {n.key for n in found} == {"1.1", "1.2", "2.1"}


def test_epic_cycle_is_reported_even_for_empty_epics() -> None:
    found = graph([], [(3, 4), (4, 3)]).cycle()
    assert found == [Node("epic", 3), Node("epic", 4), Node("epic", 3)] or found == [
        Node("epic", 4),
        Node("epic", 3),
        Node("epic", 4),
    ]


def test_story_edge_against_an_epic_edge_is_a_cross_level_deadlock() -> None:
    # Epic 2 waits for all of epic 1, but story 1.2 waits for story 2.2.
    found = graph([("1.2", "2.2")], [(2, 1)]).cycle()
    assert found is not None
    assert Node("epic", 1) in found
    assert Node("story", "1.2") in found


def test_cross_level_deadlock_is_found_transitively() -> None:
    # 3 waits for epic 2 and epic 2 for epic 1; 1.1 waiting for 3.1 closes the loop.
    assert graph([("1.1", "3.1")], [(3, 2), (2, 1)]).cycle() is not None
    assert graph([("3.1", "1.1")], [(3, 2), (2, 1)]).cycle() is None


def test_longest_chain_follows_hours_through_epic_edges() -> None:
    hours = {"1.1": 5.0, "1.2": 1.0, "2.1": 2.0, "2.2": 1.0, "3.1": 1.0}
    g = graph([("1.2", "1.1")], [(2, 1)])
    chain, total = g.longest_chain(hours.__getitem__, lambda _: True)
    assert chain == ["1.1", "1.2", "2.1"]
    assert total == 8.0


def test_longest_chain_skips_excluded_stories() -> None:
    g = graph([("1.2", "1.1")], [(2, 1)])
    chain, total = g.longest_chain(lambda _: 1.0, lambda s: s != "1.1")
    assert chain in (["1.2", "2.1"], ["1.2", "2.2"])
    assert total == 2.0


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=80))
def test_forward_only_edges_never_cycle_and_one_back_edge_always_does(
    pairs: list[tuple[int, int]],
) -> None:
    stories = {i: i // 10 for i in range(31)}  # ten stories per epic, epics 0..3
    forward = [(max(a, b), min(a, b)) for a, b in pairs if a != b]
    epic_edges = [(2, 1), (3, 0)]
    g: DependencyGraph[int, int] = DependencyGraph(stories, forward, epic_edges)
    assert g.cycle() is None
    if forward:
        a, b = forward[0]
        assert DependencyGraph(stories, [*forward, (b, a)], epic_edges).cycle() is not None
