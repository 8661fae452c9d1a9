"""Keep the objects every request shares out of the garbage collector's full passes.

Why: a server process holds a few hundred thousand long-lived objects after start-up
(modules, FastAPI's routes and pydantic's validators, the SQL texts). CPython's full
collection (generation 2) walks all of them, and it runs whenever a quarter as many objects
again have been promoted, which under load (requests in flight survive the young
collections) is every second or two: a 90 to 110 ms pause of the event loop each time, paid by
every request in flight, which was most of the story loop's p99 (docs/benchmarks.md).
``gc.freeze()`` moves what exists now into the permanent generation, which collections
skip; the collector keeps running for everything created later. The frozen objects are
almost all ones that live as long as the process; one that becomes cyclic garbage later
(a pool connection opened at start-up and retired an hour on) is never collected, a
bounded, one-off amount.
"""

import gc


def freeze_startup_objects() -> int:
    """Collect once, then freeze every surviving object; returns how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
