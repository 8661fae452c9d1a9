"""A closed-loop HTTP/1.1 load generator: N keep-alive connections, one GET in flight on each.

Run it in its own process so that it never shares an event loop (or the GIL) with the
server it measures. It prints one JSON object (see ``Result``) on stdout.

    python benchmarks/loadgen.py http://127.0.0.1:4000/api/v1/tenants/me \\
        -H "Authorization: Bearer lc_..." --concurrency 16 --duration 5 --warmup 1

The client is an ``asyncio.Protocol`` on uvloop with a hand-written response parser (status
line and Content-Length only): httpx or aiohttp would spend more CPU per request than the
server under test, and on a 2-core machine every cycle the client burns is taken from the
server. ``client_cpu_percent`` in the result shows how much it did take.
"""

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import cast
from urllib.parse import urlsplit

import uvloop

# Used only to detect a server that stopped answering; a slow but live server is measured.
STOP_GRACE_SECONDS = 10.0
RECONNECT_PAUSE_SECONDS = 0.05


@dataclass(frozen=True)
class Result:
    concurrency: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_kinds: dict[str, int]
    client_cpu_percent: float
    # Every 200 response, warm-up and the final drain included: lets a caller that
    # measured the server's CPU over the whole run divide it per request.
    all_ok: int


@dataclass
class _Run:
    request: bytes
    measure_from: float = math.inf
    measure_until: float = math.inf
    stopping: bool = False
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    all_ok: int = 0

    def completed(self, status: int, sent_at: float, now: float) -> None:
        if status != 200:
            self.errors[f"HTTP {status}"] += 1
            return
        self.all_ok += 1
        if self.measure_from <= now <= self.measure_until:
            self.latencies.append(now - sent_at)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; sends the next request as soon as a response completes."""

    def __init__(self, run: _Run, closed: asyncio.Future[None]) -> None:
        self._run = run
        self._closed = closed
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._sent_at = 0.0
        self._status = 0
        self._response_end = -1
        self.in_flight = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._send()

    def _send(self) -> None:
        assert self._transport is not None
        if self._run.stopping:
            self._transport.close()
            return
        self.in_flight = True
        self._sent_at = time.perf_counter()
        self._transport.write(self._run.request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if self._response_end < 0:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = _content_length(bytes(buffer[:head_end]))
            if length is None or not buffer.startswith(b"HTTP/1.1 "):
                self._fail("response without Content-Length or not HTTP/1.1")
                return
            self._status = int(buffer[9:12])
            self._response_end = head_end + 4 + length
        if len(buffer) < self._response_end:
            return
        if len(buffer) > self._response_end:
            self._fail("bytes after the response")
            return
        buffer.clear()
        self._response_end = -1
        self.in_flight = False
        self._run.completed(self._status, self._sent_at, time.perf_counter())
        self._send()

    def _fail(self, kind: str) -> None:
        self._run.errors[kind] += 1
        self.in_flight = False
        assert self._transport is not None
        self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        if self.in_flight:
            self._run.errors["connection closed mid-request"] += 1
            self.in_flight = False
        if not self._closed.done():
            self._closed.set_result(None)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


async def _connection_slot(run: _Run, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    while not run.stopping:
        closed: asyncio.Future[None] = loop.create_future()
        try:
            _, protocol = await loop.create_connection(
                partial(_Connection, run, closed), host, port
            )
        except OSError as exc:
            run.errors[f"connect: {exc.strerror or exc}"] += 1
            await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
            continue
        try:
            await closed
        except asyncio.CancelledError:
            if protocol.in_flight:
                run.errors["no response before the end of the run"] += 1
            raise
        if not run.stopping:
            run.errors["server closed the connection"] += 1


def _percentile(ordered: Sequence[float], percent: float) -> float:
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def build_request(url: str, headers: Sequence[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"only http:// URLs are supported: {url}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.hostname}:{port}", *headers]
    return parts.hostname, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def run_load(
    url: str, headers: Sequence[str], *, concurrency: int, duration: float, warmup: float
) -> Result:
    """Keep ``concurrency`` requests in flight; measure those completing after the warm-up."""
    host, port, request = build_request(url, headers)
    run = _Run(request)
    slots = [asyncio.create_task(_connection_slot(run, host, port)) for _ in range(concurrency)]
    await asyncio.sleep(warmup)
    run.measure_from = time.perf_counter()
    run.measure_until = run.measure_from + duration
    cpu_before = _cpu_seconds()
    await asyncio.sleep(duration)
    cpu_after = _cpu_seconds()
    run.stopping = True
    _, pending = await asyncio.wait(slots, timeout=STOP_GRACE_SECONDS)
    for slot in pending:
        slot.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    ordered = sorted(run.latencies)
    return Result(
        concurrency=concurrency,
        duration_s=duration,
        requests=len(ordered),
        rps=len(ordered) / duration,
        p50_ms=_percentile(ordered, 50) * 1000,
        p99_ms=_percentile(ordered, 99) * 1000,
        errors=sum(run.errors.values()),
        error_kinds=dict(run.errors),
        client_cpu_percent=(cpu_after - cpu_before) / duration * 100,
        all_ok=run.all_ok,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="http:// URL to GET")
    parser.add_argument(
        "-H", "--header", action="append", default=[], help="'Name: value' (repeatable)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="connections [16]")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds [5]")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first [1]")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("concurrency must be >= 1, duration > 0 and warmup >= 0")
    result = uvloop.run(
        run_load(
            args.url,
            args.header,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
        )
    )
    print(json.dumps(asdict(result)))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
