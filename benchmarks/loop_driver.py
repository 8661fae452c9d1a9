"""The loop benchmark's load generator: N agents, each running the story loop closed-loop.

Run in its own process (``loop.py`` starts it once per run) so that it never shares an
event loop or the GIL with the server it measures. Each agent holds two keep-alive
connections, one with its own agent key and one with an orchestrator key (the other
identity of the loop), and repeats: claim-next → start → request-review → report →
review-complete → verify. A refused step (any non-2xx) ends that story's loop; the agent
claims the next one. Keys come from a JSON file (never argv, never output):
``{"agents": [...], "orchestrators": [...]}``. Prints one JSON object on stdout.

The client is asyncio streams on uvloop with a minimal HTTP/1.1 parser (Content-Length
bodies only), like ``loadgen.py``: a full client library would take CPU from the server.
"""

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvloop

TRANSITIONS = ("claim-next", "start", "request-review", "report", "review-complete", "verify")
STOP_GRACE_SECONDS = 15.0
NO_STORY_PAUSE_SECONDS = 0.05


@dataclass
class Run:
    # Pause before each transition: an agent's own work between calls (0: saturation).
    think: float = 0.0
    measure_from: float = math.inf
    measure_until: float = math.inf
    stopping: bool = False
    loops: int = 0
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {name: [] for name in TRANSITIONS}
    )
    # (transition, HTTP status, error code) of every refused request, warm-up included.
    refusals: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    def measured(self, now: float) -> bool:
        return self.measure_from <= now <= self.measure_until


class Client:
    """One keep-alive HTTP/1.1 connection sending JSON POSTs with one bearer key."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self._host, self._port = host, port
        self._auth = f"Authorization: Bearer {key}\r\n".encode()
        self._head = f"Host: {host}:{port}\r\nContent-Type: application/json\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        request = (
            f"POST {path} HTTP/1.1\r\n".encode()
            + self._head
            + self._auth
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            self._writer.write(request)
            head = await self._reader.readuntil(b"\r\n\r\n")
            length = _content_length(head)
            payload = await self._reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.close()
            raise
        return int(head[9:12]), payload

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    raise OSError("response without Content-Length")


def _code(payload: bytes) -> str:
    try:
        return str(orjson.loads(payload)["error"]["code"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "?"


async def _step(run: Run, client: Client, name: str, path: str, body: Any) -> bytes | None:
    """One transition; its response body when it succeeded, else None (counted)."""
    if run.think:
        # Jittered (0.5 to 1.5 times), so that the agents do not call in lockstep.
        await asyncio.sleep(run.think * (0.5 + random.random()))
    sent = time.perf_counter()
    try:
        status, payload = await client.post(path, orjson.dumps(body))
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        run.failures[f"{name}: {type(exc).__name__}"] += 1
        return None
    now = time.perf_counter()
    if status in (200, 201):
        if run.measured(now):
            run.latencies[name].append(now - sent)
        return payload
    run.refusals[(name, status, _code(payload))] += 1
    return None


async def _agent(run: Run, agent: Client, orchestrator: Client, project: str) -> None:
    stories = "/api/v1/stories"
    while not run.stopping:
        claimed = await _step(
            run, agent, "claim-next", f"{stories}/claim-next", {"project_id": project}
        )
        if claimed is None:
            await asyncio.sleep(NO_STORY_PAUSE_SECONDS)
            continue
        data = orjson.loads(claimed)["data"]
        story, lease = f"{stories}/{data['id']}", {"lease_token": data["lease"]["token"]}
        steps: tuple[tuple[Client, str, dict[str, Any]], ...] = (
            (agent, "start", lease),
            (agent, "request-review", lease),
            (orchestrator, "report", {}),
            (orchestrator, "review-complete", {"review_type": "code"}),
            (orchestrator, "verify", {"summary": "benchmark"}),
        )
        for client, name, body in steps:
            if run.stopping or await _step(run, client, name, f"{story}/{name}", body) is None:
                break
        else:
            if run.measured(time.perf_counter()):
                run.loops += 1


def _percentile(ordered: Sequence[float], percent: float) -> float:
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def drive(
    port: int,
    keys: dict[str, list[str]],
    project: str,
    *,
    duration: float,
    warmup: float,
    think: float,
) -> dict[str, Any]:
    run = Run(think=think)
    orchestrators = keys["orchestrators"]
    pairs = [
        (Client("127.0.0.1", port, key), Client("127.0.0.1", port, orchestrators[i % len(orchestrators)]))
        for i, key in enumerate(keys["agents"])
    ]  # fmt: skip
    tasks = [asyncio.create_task(_agent(run, a, o, project)) for a, o in pairs]
    await asyncio.sleep(warmup)
    run.measure_from = time.perf_counter()
    run.measure_until = run.measure_from + duration
    cpu = _cpu_seconds()
    await asyncio.sleep(duration)
    cpu = _cpu_seconds() - cpu
    run.stopping = True
    _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
    for task in pending:
        task.cancel()
        run.failures["no response before the end of the run"] += 1
    await asyncio.gather(*tasks, return_exceptions=True)
    for agent, orchestrator in pairs:
        agent.close()
        orchestrator.close()
    transitions = {}
    for name, values in run.latencies.items():
        ordered = sorted(values)
        transitions[name] = {
            "count": len(ordered),
            "p50_ms": _percentile(ordered, 50) * 1000,
            "p99_ms": _percentile(ordered, 99) * 1000,
        }
    return {
        "agents": len(pairs),
        "duration_s": duration,
        "loops": run.loops,
        "loops_per_s": run.loops / duration,
        "transitions": transitions,
        "refusals": [[t, s, c, n] for (t, s, c), n in sorted(run.refusals.items())],
        "failures": dict(run.failures),
        "client_cpu_percent": cpu / duration * 100,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", type=Path, required=True, help="JSON file of the keys")
    parser.add_argument("--project", required=True, help="project id")
    parser.add_argument("--agents", type=int, required=True, help="how many agents loop")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--think", type=float, default=0.0, help="seconds before each call")
    args = parser.parse_args(argv)
    keys: dict[str, list[str]] = json.loads(args.keys.read_text())
    if args.agents > len(keys["agents"]):
        parser.error(f"only {len(keys['agents'])} agent keys in {args.keys}")
    keys["agents"] = keys["agents"][: args.agents]
    result = uvloop.run(
        drive(
            args.port,
            keys,
            args.project,
            duration=args.duration,
            warmup=args.warmup,
            think=args.think,
        )
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
