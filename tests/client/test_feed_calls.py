"""The change feed, checkpoints and audit events through both clients; the live stream,
including a reconnect after the connection drops (through a real TCP proxy that cuts it)."""

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest

from loopctl.client import (
    AsyncClient,
    AuthError,
    Client,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ServerError,
)
from loopctl.client.feed_calls import ChangeEvent
from tests.client.conftest import QUICK, Live, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]
WAIT = 30.0


class CuttingProxy:
    """Forwards TCP connections to the server; ``cut()`` closes every open one at once.
    Keeps the first bytes each connection sent (the request line and headers)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.requests: list[bytes] = []
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open += [downstream, upstream]
                self.requests.append(b"")
                index = len(self.requests) - 1
            threading.Thread(
                target=self._pipe, args=(downstream, upstream, index), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, downstream, None), daemon=True
            ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, index: int | None) -> None:
        try:
            while chunk := source.recv(65536):
                if index is not None and len(self.requests[index]) < 4096:
                    self.requests[index] += chunk
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            for end in self._open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            self._open.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy(live: Live) -> Iterator[CuttingProxy]:
    cutting = CuttingProxy(int(live.url.rsplit(":", 1)[1]))
    yield cutting
    cutting.close()


def test_pages_checkpoints_and_events(live: Live, keys: Roles) -> None:
    with live.client(keys.orchestrator) as orch, live.client(keys.agent) as agent:
        project = orch.create_project("Feed calls", f"feed-{uuid4().hex[:8]}")
        orch.create_epic(project.id, 1, "One")
        page = agent.changes(project_id=project.id, limit=1)
        assert [e.entity_type for e in page.data] == ["project"]
        rest = agent.changes(project_id=project.id, cursor=page.meta.next_cursor)
        assert [e.entity_type for e in rest.data] == ["epic"]
        assert rest.meta.has_more is False
        saved = orch.save_state(project.id, {"phase": "plan"}, cursor=rest.meta.next_cursor)
        assert (saved.version, saved.cursor) == (1, rest.meta.next_cursor)
        with pytest.raises(ConflictError) as conflict:
            orch.save_state(project.id, {"phase": "again"})
        assert conflict.value.code == "version_conflict"
        orch.save_state(project.id, {"phase": "build"}, version=1)
        assert orch.get_state(project.id).state_data == {"phase": "build"}
        assert [v.version for v in orch.state_history(project.id).data] == [2, 1]
        with pytest.raises(NotFoundError):
            orch.get_state(project.id, state_key="none")
        event = orch.report_event("session_ended", project_id=project.id, data={"ok": True})
        assert (event.entity_type, event.action) == ("orchestrator_event", "session_ended")
        with pytest.raises(ForbiddenError):
            agent.report_event("session_ended")


def _next(events: Iterator[ChangeEvent]) -> ChangeEvent:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(next, events).result(timeout=WAIT)


def test_the_stream_reconnects_after_the_last_event(
    live: Live, keys: Roles, proxy: CuttingProxy
) -> None:
    with live.client(keys.orchestrator) as orch:
        project = orch.create_project("Stream", f"stream-{uuid4().hex[:8]}")
        with live.client(keys.agent) as agent:
            cursor = agent.changes(project_id=project.id).meta.next_cursor
        with Client(proxy.url, keys.agent, retry=QUICK) as follower:
            events = follower.follow_changes(cursor=cursor, project_id=project.id)
            try:
                orch.create_epic(project.id, 1, "Before the cut")
                first = _next(events)
                assert first.after is not None
                assert first.after["title"] == "Before the cut"
                proxy.cut()
                orch.create_epic(project.id, 2, "After the cut")
                second = _next(events)
                assert second.after is not None
                assert second.after["title"] == "After the cut"  # not the first one again
            finally:
                events.close()
    streams = [r for r in proxy.requests if r.startswith(b"GET /api/v1/changes/stream")]
    assert len(streams) >= 2
    assert f"last-event-id: {first.cursor}".encode() in streams[-1].lower()


def test_the_stream_refuses_a_bad_key_at_once(live: Live) -> None:
    with Client(live.url, "lc_" + "x" * 40, retry=QUICK) as client:
        events = client.follow_changes()
        with pytest.raises(AuthError) as refused:
            next(events)
    assert refused.value.code == "invalid_api_key"


async def test_the_async_client_follows_too(live: Live, keys: Roles) -> None:
    async with AsyncClient(live.url, keys.orchestrator, retry=QUICK) as orch:
        project = await orch.create_project("Async stream", f"astream-{uuid4().hex[:8]}")
        page = await orch.changes(project_id=project.id)
        events = orch.follow_changes(cursor=page.meta.next_cursor, project_id=project.id)
        try:
            await orch.create_epic(project.id, 1, "Async")
            event = await asyncio.wait_for(anext(events), WAIT)
            assert event.after is not None
            assert event.after["title"] == "Async"
            state = await orch.save_state(project.id, {"a": 1}, cursor=event.cursor)
            assert (await orch.get_state(project.id)).cursor == state.cursor
        finally:
            await events.aclose()


def test_a_stream_is_retried_through_503s_and_an_answer_that_is_no_stream_is_refused(
    flaky: Any,
) -> None:
    server = flaky(2)  # two 503s, then 200 with a JSON body: not an event stream
    with Client(server.url, "lc_" + "k" * 40, retry=QUICK) as client:
        events = client.follow_changes()
        with pytest.raises(ServerError) as refused:
            next(events)
    assert refused.value.code == "bad_response"
    assert "application/json" in refused.value.message
    assert server.methods == ["GET", "GET", "GET"]
