"""feed.py's last part: the events/s one live stream follows while N agents run the loop.

A fresh tenant with a 5,000-story project and one key per agent (``loop.py``'s setup,
through the API); one SSE client with an orchestrator key follows ``/changes/stream`` from
now on while ``loop_driver.py`` (its own process) runs the story loop with N agents. The
stream's receipts in the driver's measured window give events/s; after the driver ends, the
time until the stream has every audit row the run wrote is the catch-up.
"""

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from benchmarks.loop import _setup as loop_setup

HERE = Path(__file__).resolve().parent
CATCH_UP_TIMEOUT_SECONDS = 30.0
WRITTEN = "SELECT count(*) FROM audit_log WHERE project_id = %s AND created_at > %s"


@dataclass
class LoopFeed:
    agents: int
    duration: float
    loops_per_s: float
    rows_written: int
    events_per_s: float
    received: int
    catch_up_s: float | None


async def _follow(client: httpx.AsyncClient, since: str, receipts: list[float]) -> None:
    params = {"since": since}
    async with client.stream("GET", "/api/v1/changes/stream", params=params) as response:
        if response.status_code != 200:
            raise RuntimeError(f"the stream answered {response.status_code}")
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                receipts.append(time.monotonic())


async def _drive(argv: list[str]) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0 or not out:
        raise RuntimeError(f"the load generator failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


async def _run(
    port: int, keys_file: Path, key: str, project: str, superuser: str, args: Any
) -> LoopFeed:
    since_at = datetime.now(UTC)
    since = since_at.isoformat()
    receipts: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    timeout = httpx.Timeout(30.0, read=None)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout) as client:
        follower = asyncio.create_task(_follow(client, since, receipts))
        argv = [
            sys.executable,
            str(HERE / "loop_driver.py"),
            f"--port={port}",
            f"--keys={keys_file}",
            f"--project={project}",
            f"--agents={args.loop_agents}",
            f"--duration={args.loop_duration}",
            "--warmup=2",
        ]
        started = time.monotonic()
        result = await _drive(argv)
        ended = time.monotonic()
        with psycopg.connect(superuser, autocommit=True) as conn:
            found = conn.execute(WRITTEN, [project, since_at]).fetchone()
        written = int(found[0]) if found else 0
        deadline = ended + CATCH_UP_TIMEOUT_SECONDS
        # A short poll of a counter with a deadline: the stream's reader owns the list.
        while len(receipts) < written and time.monotonic() < deadline:
            if follower.done():
                break
            await asyncio.sleep(0.01)
        caught_up = len(receipts) >= written
        catch_up = (receipts[written - 1] - ended) if caught_up and written else None
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
    window_from, window_to = started + 2, started + 2 + args.loop_duration
    in_window = sum(1 for r in receipts if window_from <= r <= window_to)
    return LoopFeed(
        agents=args.loop_agents,
        duration=args.loop_duration,
        loops_per_s=float(result["loops_per_s"]),
        rows_written=written,
        events_per_s=in_window / args.loop_duration,
        received=len(receipts),
        catch_up_s=None if catch_up is None else max(0.0, catch_up),
    )


def measure(port: int, root: Path, superuser: str, args: Any) -> LoopFeed:
    """Set the loop's tenant up through the API, then run the driver under one stream."""
    keys_file = root / "loop-keys.json"
    project = loop_setup(port, args.loop_agents, keys_file)
    key: str = json.loads(keys_file.read_text())["orchestrators"][0]
    return asyncio.run(_run(port, keys_file, key, project, superuser, args))


def describe(found: LoopFeed) -> str:
    catch_up = "never (timed out)" if found.catch_up_s is None else f"{found.catch_up_s:.2f} s"
    return (
        f"{found.agents} agents running the loop for {found.duration:g} s (after 2 s warm-up) "
        f"under one stream client: {found.loops_per_s:.1f} loops/s; the stream received "
        f"{found.events_per_s:.0f} events/s in the measured window; {found.received:,} of "
        f"{found.rows_written:,} audit rows written received in all; caught up {catch_up} "
        "after the driver ended"
    )
