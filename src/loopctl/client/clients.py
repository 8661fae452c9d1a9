"""``Client`` (sync) and ``AsyncClient``: the same methods, one per endpoint, over httpx.

Each method is made from a request builder (plan_calls.py, loop_calls.py), so both clients
have exactly the same calls with the same arguments; only sending differs.
"""

import abc
import functools
import os
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar

import httpx

from loopctl.client import audit_calls as audit
from loopctl.client import feed_calls as feed
from loopctl.client import loop_calls as loop
from loopctl.client import plan_calls as plan
from loopctl.client import stream
from loopctl.client.config import active_profile
from loopctl.client.core import Call, RetryPolicy, decode, headers, network_error, raw_call
from loopctl.client.sources import (
    Server,
    checked_url,
    data_dir,
    default_project,
    find_key,
    resolve_server,
)
from loopctl.platform.config import VERSION

P = ParamSpec("P")
T = TypeVar("T")
Transport = TypeVar("Transport", httpx.BaseTransport, httpx.AsyncBaseTransport)
DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"loopctl-client/{VERSION}"


def _sync(build: Callable[P, Call[T]]) -> Callable[Concatenate["Client", P], T]:
    @functools.wraps(build)
    def method(self: "Client", /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(build(*args, **kwargs))

    return method


def _async(
    build: Callable[P, Call[T]],
) -> Callable[Concatenate["AsyncClient", P], Coroutine[Any, Any, T]]:
    @functools.wraps(build)
    async def method(self: "AsyncClient", /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(build(*args, **kwargs))

    return method


class _Base(abc.ABC, Generic[Transport]):
    """Where to connect and with which key; never shows the key in a repr."""

    def __init__(
        self,
        server: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        server_source: str = "argument",
        key_source: str | None = "argument",
        default_project: str | None = None,
    ) -> None:
        self.server = Server(checked_url(server, server_source), server_source)
        self.key_source = key_source if api_key else None
        # The project a handle without one means (a slug or an id): LOOPCTL_PROJECT, a profile.
        self.default_project = default_project
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._headers = headers(api_key, USER_AGENT)
        self._open(transport)

    @abc.abstractmethod
    def _open(self, transport: Transport | None) -> None:
        """Make ``self._http``, the sync or async httpx client."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(server={self.server.url!r}, key_source={self.key_source!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kw: Any) -> Self:
        """Server and key found as the CLI finds them (docs/client.md, "Configuration")."""
        env = os.environ if env is None else env
        profile = active_profile(None, env)
        server = resolve_server(None, env, profile)
        key = find_key(None, server, data_dir(None, env), env, profile).key
        return cls(
            server.url,
            key.value if key else None,
            server_source=server.source,
            key_source=key.source if key else None,
            **{"default_project": default_project(env, profile), **kw},
        )


class Client(_Base[httpx.BaseTransport]):
    """The sync client. Use as a context manager, or call ``close()``."""

    _http: httpx.Client

    def _open(self, transport: httpx.BaseTransport | None) -> None:
        self._http = httpx.Client(
            base_url=self.server.url,
            headers=self._headers,
            timeout=self.timeout,
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Send ``call`` (retrying it if idempotent) and read its answer."""
        for attempt in self.retry.sync(call.method):
            with attempt:
                return self._once(call)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def _once(self, call: Call[T]) -> T:
        try:
            response = self._http.request(call.method, call.url, params=call.params, json=call.body)
        except httpx.TransportError as exc:
            raise network_error(exc, self.server.url) from exc
        return decode(call, response)

    def request(self, method: str, path: str, *, json: Any = None) -> Any:
        """Any endpoint: ``path`` under /api/v1 (``projects``) or absolute; the JSON answer."""
        return self.send(raw_call(method, path, json))

    # One method per endpoint (client/plan_calls.py, loop_calls.py, audit_calls.py, feed_calls.py).
    register_tenant = _sync(plan.register_tenant)
    get_tenant = _sync(plan.get_tenant)
    update_tenant = _sync(plan.update_tenant)
    create_api_key = _sync(plan.create_api_key)
    list_api_keys = _sync(plan.list_api_keys)
    get_my_api_key = _sync(plan.get_my_api_key)
    get_api_key = _sync(plan.get_api_key)
    revoke_api_key = _sync(plan.revoke_api_key)
    rotate_api_key = _sync(plan.rotate_api_key)
    register_agent = _sync(plan.register_agent)
    list_agents = _sync(plan.list_agents)
    get_agent = _sync(plan.get_agent)
    create_project = _sync(plan.create_project)
    list_projects = _sync(plan.list_projects)
    get_project = _sync(plan.get_project)
    update_project = _sync(plan.update_project)
    archive_project = _sync(plan.archive_project)
    project_progress = _sync(plan.project_progress)
    lookup = _sync(plan.lookup)
    create_epic = _sync(plan.create_epic)
    list_epics = _sync(plan.list_epics)
    get_epic = _sync(plan.get_epic)
    update_epic = _sync(plan.update_epic)
    delete_epic = _sync(plan.delete_epic)
    epic_progress = _sync(plan.epic_progress)
    create_story = _sync(plan.create_story)
    create_story_in_project = _sync(plan.create_story_in_project)
    list_stories = _sync(plan.list_stories)
    list_epic_stories = _sync(plan.list_epic_stories)
    get_story = _sync(plan.get_story)
    update_story = _sync(plan.update_story)
    delete_story = _sync(plan.delete_story)
    add_story_dependency = _sync(plan.add_story_dependency)
    remove_story_dependency = _sync(plan.remove_story_dependency)
    add_epic_dependency = _sync(plan.add_epic_dependency)
    remove_epic_dependency = _sync(plan.remove_epic_dependency)
    list_story_dependencies = _sync(plan.list_story_dependencies)
    list_epic_dependencies = _sync(plan.list_epic_dependencies)
    dependency_graph = _sync(plan.dependency_graph)
    critical_path = _sync(plan.critical_path)
    ready = _sync(plan.ready)
    blocked = _sync(plan.blocked)
    import_project = _sync(plan.import_project)
    export_project = _sync(plan.export_project)
    contract = _sync(loop.contract)
    claim = _sync(loop.claim)
    claim_next = _sync(loop.claim_next)
    start = _sync(loop.start)
    heartbeat = _sync(loop.heartbeat)
    request_review = _sync(loop.request_review)
    unclaim = _sync(loop.unclaim)
    report = _sync(loop.report)
    review_complete = _sync(loop.review_complete)
    verify = _sync(loop.verify)
    reject = _sync(loop.reject)
    force_unclaim = _sync(loop.force_unclaim)
    backfill = _sync(loop.backfill)
    add_artifact = _sync(loop.add_artifact)
    list_artifacts = _sync(loop.list_artifacts)
    list_verifications = _sync(loop.list_verifications)
    acceptance_criteria = _sync(loop.acceptance_criteria)
    bulk_claim = _sync(loop.bulk_claim)
    bulk_verify = _sync(loop.bulk_verify)
    bulk_reject = _sync(loop.bulk_reject)
    bulk_mark_complete = _sync(loop.bulk_mark_complete)
    verify_all = _sync(loop.verify_all)
    story_history = _sync(audit.story_history)
    search_audit = _sync(audit.search_audit)
    changes = _sync(feed.changes)
    save_state = _sync(feed.save_state)
    get_state = _sync(feed.get_state)
    state_history = _sync(feed.state_history)
    report_event = _sync(feed.report_event)

    def follow_changes(
        self,
        *,
        cursor: str | None = None,
        since: datetime | str | None = None,
        retry: RetryPolicy | None = None,
        **filters: Any,
    ) -> Generator[feed.ChangeEvent, None, None]:
        """The tenant's changes live from ``cursor`` (or ``since``, or the start), for as
        long as you iterate; reconnects after the last event received (client/stream.py)."""
        at = stream.start(cursor, since, filters)
        limits = stream.read_timeout(self.timeout)
        return stream.follow(self._http, self.server.url, at, retry or self.retry, limits)


class AsyncClient(_Base[httpx.AsyncBaseTransport]):
    """The async client. Use as an async context manager, or await ``aclose()``."""

    _http: httpx.AsyncClient

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> None:
        self._http = httpx.AsyncClient(
            base_url=self.server.url,
            headers=self._headers,
            timeout=self.timeout,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send ``call`` (retrying it if idempotent) and read its answer."""
        async for attempt in self.retry.asynchronous(call.method):
            with attempt:
                return await self._once(call)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _once(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(
                call.method, call.url, params=call.params, json=call.body
            )
        except httpx.TransportError as exc:
            raise network_error(exc, self.server.url) from exc
        return decode(call, response)

    async def request(self, method: str, path: str, *, json: Any = None) -> Any:
        """Any endpoint: ``path`` under /api/v1 (``projects``) or absolute; the JSON answer."""
        return await self.send(raw_call(method, path, json))

    # One method per endpoint (client/plan_calls.py, loop_calls.py, audit_calls.py, feed_calls.py).
    register_tenant = _async(plan.register_tenant)
    get_tenant = _async(plan.get_tenant)
    update_tenant = _async(plan.update_tenant)
    create_api_key = _async(plan.create_api_key)
    list_api_keys = _async(plan.list_api_keys)
    get_my_api_key = _async(plan.get_my_api_key)
    get_api_key = _async(plan.get_api_key)
    revoke_api_key = _async(plan.revoke_api_key)
    rotate_api_key = _async(plan.rotate_api_key)
    register_agent = _async(plan.register_agent)
    list_agents = _async(plan.list_agents)
    get_agent = _async(plan.get_agent)
    create_project = _async(plan.create_project)
    list_projects = _async(plan.list_projects)
    get_project = _async(plan.get_project)
    update_project = _async(plan.update_project)
    archive_project = _async(plan.archive_project)
    project_progress = _async(plan.project_progress)
    lookup = _async(plan.lookup)
    create_epic = _async(plan.create_epic)
    list_epics = _async(plan.list_epics)
    get_epic = _async(plan.get_epic)
    update_epic = _async(plan.update_epic)
    delete_epic = _async(plan.delete_epic)
    epic_progress = _async(plan.epic_progress)
    create_story = _async(plan.create_story)
    create_story_in_project = _async(plan.create_story_in_project)
    list_stories = _async(plan.list_stories)
    list_epic_stories = _async(plan.list_epic_stories)
    get_story = _async(plan.get_story)
    update_story = _async(plan.update_story)
    delete_story = _async(plan.delete_story)
    add_story_dependency = _async(plan.add_story_dependency)
    remove_story_dependency = _async(plan.remove_story_dependency)
    add_epic_dependency = _async(plan.add_epic_dependency)
    remove_epic_dependency = _async(plan.remove_epic_dependency)
    list_story_dependencies = _async(plan.list_story_dependencies)
    list_epic_dependencies = _async(plan.list_epic_dependencies)
    dependency_graph = _async(plan.dependency_graph)
    critical_path = _async(plan.critical_path)
    ready = _async(plan.ready)
    blocked = _async(plan.blocked)
    import_project = _async(plan.import_project)
    export_project = _async(plan.export_project)
    contract = _async(loop.contract)
    claim = _async(loop.claim)
    claim_next = _async(loop.claim_next)
    start = _async(loop.start)
    heartbeat = _async(loop.heartbeat)
    request_review = _async(loop.request_review)
    unclaim = _async(loop.unclaim)
    report = _async(loop.report)
    review_complete = _async(loop.review_complete)
    verify = _async(loop.verify)
    reject = _async(loop.reject)
    force_unclaim = _async(loop.force_unclaim)
    backfill = _async(loop.backfill)
    add_artifact = _async(loop.add_artifact)
    list_artifacts = _async(loop.list_artifacts)
    list_verifications = _async(loop.list_verifications)
    acceptance_criteria = _async(loop.acceptance_criteria)
    bulk_claim = _async(loop.bulk_claim)
    bulk_verify = _async(loop.bulk_verify)
    bulk_reject = _async(loop.bulk_reject)
    bulk_mark_complete = _async(loop.bulk_mark_complete)
    verify_all = _async(loop.verify_all)
    story_history = _async(audit.story_history)
    search_audit = _async(audit.search_audit)
    changes = _async(feed.changes)
    save_state = _async(feed.save_state)
    get_state = _async(feed.get_state)
    state_history = _async(feed.state_history)
    report_event = _async(feed.report_event)

    def follow_changes(
        self,
        *,
        cursor: str | None = None,
        since: datetime | str | None = None,
        retry: RetryPolicy | None = None,
        **filters: Any,
    ) -> AsyncGenerator[feed.ChangeEvent, None]:
        """The async ``Client.follow_changes``: iterate with ``async for``."""
        at = stream.start(cursor, since, filters)
        limits = stream.read_timeout(self.timeout)
        return stream.afollow(self._http, self.server.url, at, retry or self.retry, limits)
