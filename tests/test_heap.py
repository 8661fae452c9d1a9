"""platform/heap.py: what exists at start-up leaves the collector's full passes."""

import gc

from loopctl.platform.heap import freeze_startup_objects


class _Probe:
    """An object made before the freeze, to look for in the collector's generations."""


def test_start_up_objects_are_frozen_and_later_ones_still_collected() -> None:
    before = _Probe()
    try:
        frozen = freeze_startup_objects()
        assert frozen == gc.get_freeze_count() > 0
        tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert id(before) not in tracked  # in the permanent generation: never scanned
        after = _Probe()
        assert gc.is_tracked(after)
        assert id(after) in {id(o) for o in gc.get_objects(0)}
    finally:
        gc.unfreeze()  # the rest of the suite runs with an ordinary collector
