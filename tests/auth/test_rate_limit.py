"""The sliding-window limiter on its own: a fake clock, and two limiters sharing a database."""

from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopctl.auth.keys import KeyHasher
from loopctl.auth.rate_limit import RateLimiter
from loopctl.database.connections import create_pool
from tests.fixtures.app import SECRET
from tests.fixtures.database import Urls

# A minute-window boundary, so tests can place hits at known offsets into a window.
WINDOW_START = 60 * 28_333_334


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter_at(offset: float = 0.0) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock(WINDOW_START + offset)
    return RateLimiter(KeyHasher(SECRET.encode()), clock=clock), clock


def fill(limiter: RateLimiter, name: str, limit: int, window: int = 60) -> int:
    """Hit until refused; returns the wait of the refusal."""
    for _ in range(limit):
        assert limiter.hit(name, limit, window) is None
    wait = limiter.hit(name, limit, window)
    assert wait is not None
    return wait


def test_admits_up_to_the_limit_then_refuses_with_a_wait() -> None:
    limiter, _ = limiter_at(10)
    wait = fill(limiter, "key:a", 5)
    assert 0 < wait <= 2 * 60
    # A refused hit counts nothing, so refusing again gives the same wait.
    assert limiter.hit("key:a", 5) == wait
    assert limiter.exceeded("key:a", 5) == wait


@pytest.mark.parametrize(
    ("offset", "limit"),
    [(0.0, 5), (10.0, 5), (59.5, 5), (30.0, 1), (0.25, 600), (45.0, 7)],
)
def test_retry_after_is_exact(offset: float, limit: int) -> None:
    limiter, clock = limiter_at(offset)
    wait = fill(limiter, "key:a", limit)
    refused_at = clock.now
    if wait > 1:
        clock.now = refused_at + wait - 1
        assert limiter.hit("key:a", limit) is not None, "admitted before Retry-After"
    clock.now = refused_at + wait
    assert limiter.hit("key:a", limit) is None, "refused after waiting Retry-After"


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 40),
    window=st.sampled_from([1, 60, 3600]),
    start=st.floats(0, 3600),
    gaps=st.lists(st.floats(0, 50), min_size=1, max_size=90),
)
def test_retry_after_is_exact_for_any_history(
    limit: int, window: int, start: float, gaps: list[float]
) -> None:
    limiter, clock = limiter_at(start)
    wait = None
    for gap in gaps:
        clock.now += gap
        wait = limiter.hit("key:a", limit, window)
        if wait is not None:
            break
    if wait is None:
        return
    refused_at = clock.now
    # The longest honest wait: the window that filled up, then the next one decaying.
    assert 1 <= wait <= 2 * window
    if wait > 1:
        clock.now = refused_at + wait - 1
        assert limiter.exceeded("key:a", limit) is not None
    clock.now = refused_at + wait
    assert limiter.exceeded("key:a", limit) is None


def test_the_window_slides() -> None:
    limiter, clock = limiter_at(0)
    fill(limiter, "key:a", 10)
    # Half-way through the next window, half of the previous window's 10 hits still weigh.
    clock.now = WINDOW_START + 60 + 30
    admitted = 0
    while limiter.hit("key:a", 10) is None:
        admitted += 1
    assert admitted == 5
    # Two quiet windows later the whole allowance is back.
    clock.now = WINDOW_START + 3 * 60
    assert fill(limiter, "key:a", 10) > 0


def test_hits_spread_over_a_window_boundary_still_count() -> None:
    limiter, clock = limiter_at(59)
    for _ in range(4):
        assert limiter.hit("key:a", 5) is None
    clock.now = WINDOW_START + 61  # a new window; the previous still weighs 59/60
    assert limiter.hit("key:a", 5) is None
    assert limiter.hit("key:a", 5) is not None


def test_exceeded_counts_nothing() -> None:
    limiter, _ = limiter_at(5)
    assert limiter.exceeded("authfail:x", 3) is None
    for _ in range(50):
        assert limiter.exceeded("authfail:x", 3) is None
    fill(limiter, "authfail:x", 3)


def test_add_counts_past_the_limit_and_lengthens_the_wait() -> None:
    limiter, clock = limiter_at(0)
    for _ in range(3):
        limiter.add("authfail:x")
    at_limit = limiter.exceeded("authfail:x", 3)
    for _ in range(3):
        limiter.add("authfail:x")
    over = limiter.exceeded("authfail:x", 3)
    assert at_limit is not None
    assert over is not None
    assert over > at_limit
    clock.now += over
    assert limiter.exceeded("authfail:x", 3) is None


def test_buckets_and_windows_are_separate() -> None:
    limiter, _ = limiter_at(0)
    fill(limiter, "key:a", 2)
    assert limiter.hit("key:b", 2) is None
    assert limiter.hit("key:b", 2) is None
    assert limiter.hit("key:a", 2) is not None


# --- two processes sharing counts through the database ------------------------------------


class Process:
    """One server process's limiter, with its own pool on the shared database."""

    def __init__(self, urls: Urls, clock: FakeClock) -> None:
        self.limiter = RateLimiter(KeyHasher(SECRET.encode()), clock=clock)
        self.pool = create_pool(urls.app, name="rate-limit-tests", min_size=1, max_size=1)

    async def sync(self) -> None:
        await self.limiter.sync(self.pool)


@pytest.fixture
async def processes(fresh_db: Urls) -> AsyncIterator[tuple[Process, Process]]:
    clock = FakeClock(WINDOW_START + 10)
    first, second = Process(fresh_db, clock), Process(fresh_db, clock)
    await first.pool.open()
    await second.pool.open()
    try:
        yield first, second
    finally:
        await first.pool.close()
        await second.pool.close()


@pytest.mark.realdb
async def test_sync_shares_hits_between_processes(processes: tuple[Process, Process]) -> None:
    first, second = processes
    for _ in range(3):
        assert first.limiter.hit("key:shared", 5) is None
    assert second.limiter.hit("key:shared", 5) is None
    await first.sync()
    # Decisions never wait for the database: until it syncs, the second process counts
    # only its own hit. A process learns a bucket's shared total at the first sync after
    # it has seen the bucket itself.
    assert second.limiter.exceeded("key:shared", 5) is None
    await second.sync()
    assert second.limiter.hit("key:shared", 5) is None  # 3 + 1 + 1
    assert second.limiter.hit("key:shared", 5) is not None
    await second.sync()
    await first.sync()
    assert first.limiter.hit("key:shared", 5) is not None


@pytest.mark.realdb
async def test_sync_never_counts_a_hit_twice(processes: tuple[Process, Process]) -> None:
    first, _ = processes
    for _ in range(3):
        assert first.limiter.hit("key:once", 5) is None
    for _ in range(3):
        await first.sync()
    assert first.limiter.hit("key:once", 5) is None
    await first.sync()
    assert first.limiter.hit("key:once", 5) is None
    assert first.limiter.hit("key:once", 5) is not None


@pytest.mark.realdb
async def test_sync_keeps_buckets_of_other_names_apart(
    processes: tuple[Process, Process],
) -> None:
    first, second = processes
    fill(first.limiter, "ip:192.0.2.1", 2)
    await first.sync()
    assert second.limiter.hit("ip:192.0.2.2", 2) is None
    await second.sync()
    assert second.limiter.hit("ip:192.0.2.2", 2) is None
    assert second.limiter.hit("ip:192.0.2.2", 2) is not None
