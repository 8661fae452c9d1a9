"""Each error class from a real server answer, a network error, and retries (GET only)."""

import json
import time
from typing import Any
from uuid import uuid4

import pytest

from loopctl.client import (
    AuthError,
    Client,
    ConflictError,
    ForbiddenError,
    LoopctlError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from tests.cli.conftest import unused_port
from tests.client.conftest import QUICK, Live, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

Flaky = Any


def test_a_refused_key_is_an_auth_error(live: Live) -> None:
    with live.client("lc_" + "x" * 43) as client, pytest.raises(AuthError) as raised:
        client.get_tenant()
    assert (raised.value.status, raised.value.code) == (401, "invalid_api_key")
    with live.client(None) as client, pytest.raises(AuthError) as raised:
        client.get_tenant()
    assert raised.value.code == "unauthorized"


def test_a_too_low_role_is_forbidden_with_the_details(live: Live, keys: Roles) -> None:
    with live.client(keys.agent) as agent, pytest.raises(ForbiddenError) as raised:
        agent.create_project("No", f"no-{uuid4().hex[:8]}")
    error = raised.value
    assert (error.status, error.code) == (403, "insufficient_role")
    assert error.details["required_role"] == "orchestrator"
    assert isinstance(error, LoopctlError)


def test_an_unknown_story_is_not_found(live: Live, keys: Roles) -> None:
    with live.client(keys.agent) as agent, pytest.raises(NotFoundError) as raised:
        agent.get_story(uuid4())
    assert (raised.value.status, raised.value.code) == (404, "story_not_found")


def test_a_taken_slug_is_a_conflict(live: Live, keys: Roles) -> None:
    slug = f"taken-{uuid4().hex[:8]}"
    with live.client(keys.orchestrator) as orch:
        orch.create_project("First", slug)
        with pytest.raises(ConflictError) as raised:
            orch.create_project("Second", slug)
    assert (raised.value.status, raised.value.code) == (409, "project_slug_taken")


def test_a_bad_body_is_a_validation_error_naming_the_field(live: Live, keys: Roles) -> None:
    with live.client(keys.orchestrator) as orch, pytest.raises(ValidationError) as raised:
        orch.create_project("Bad", "Not A Slug!")
    error = raised.value
    assert (error.status, error.code) == (422, "validation_error")
    assert [e["field"] for e in error.details["errors"]] == ["body.slug"]


def test_nothing_listening_is_a_network_error_after_the_retries() -> None:
    started = time.monotonic()
    client = Client(f"http://127.0.0.1:{unused_port()}", "k", retry=QUICK)
    with client, pytest.raises(NetworkError) as raised:
        client.get_tenant()
    assert (raised.value.status, raised.value.code) == (None, "connection_refused")
    # Three waits of at least QUICK.initial (0.01, 0.02, 0.04 s) separate the four attempts.
    assert time.monotonic() - started >= 0.07


AGENT_ID = str(uuid4())
AGENT: dict[str, Any] = {
    "id": AGENT_ID,
    "name": "flaky",
    "agent_type": "implementer",
    "model": None,
    "provider": None,
    "metadata": {},
    "last_seen_at": None,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}


def test_a_get_is_retried_through_two_503s(flaky: Flaky) -> None:
    server = flaky(2, json.dumps({"data": AGENT}).encode())
    with Client(server.url, "k", retry=QUICK) as client:
        agent = client.get_agent(AGENT_ID)
    assert (str(agent.id), agent.name) == (AGENT_ID, "flaky")
    assert server.methods == ["GET", "GET", "GET"]


def test_a_put_or_delete_is_retried_too(flaky: Flaky) -> None:
    key = {"id": str(uuid4())}
    server = flaky(1, json.dumps({"data": key}).encode())
    with Client(server.url, "k", retry=QUICK) as client, pytest.raises(ServerError):
        # The answer is not a whole API key, but it came after one retry.
        client.revoke_api_key(uuid4())
    assert server.methods == ["DELETE", "DELETE"]


def test_retries_stop_after_the_attempts_given(flaky: Flaky) -> None:
    server = flaky(5)
    retry = RetryPolicy(attempts=2, initial=0.01, maximum=0.01)
    with Client(server.url, "k", retry=retry) as client, pytest.raises(ServerError) as raised:
        client.get_tenant()
    assert (raised.value.status, raised.value.code) == (503, "query_timeout")
    assert server.methods == ["GET", "GET"]


def test_a_post_or_patch_is_never_retried(flaky: Flaky) -> None:
    server = flaky(2)
    with Client(server.url, "k", retry=QUICK) as client:
        with pytest.raises(ServerError) as raised:
            client.create_project("Once", "once")
        assert raised.value.status == 503
        with pytest.raises(ServerError):
            client.update_project(uuid4(), name="Once")
    assert server.methods == ["POST", "PATCH"]


def test_a_post_rolled_back_by_a_deadlock_is_sent_again_and_other_409s_are_not(
    flaky: Flaky,
) -> None:
    rolled_back = {"status": 409, "code": "concurrent_update", "message": "send it again"}
    failure = (409, json.dumps({"error": {**rolled_back, "details": {}}}).encode())
    server = flaky(1, json.dumps({"data": {"ok": True}}).encode(), failure)
    with Client(server.url, "k", retry=QUICK) as client:
        assert client.request("POST", "stories/bulk/claim", json={"story_ids": []}) == {
            "data": {"ok": True}
        }
    assert server.methods == ["POST", "POST"]
    taken = {"status": 409, "code": "already_claimed", "message": "taken"}
    other = flaky(
        1, b'{"data": {}}', (409, json.dumps({"error": {**taken, "details": {}}}).encode())
    )
    with Client(other.url, "k", retry=QUICK) as client, pytest.raises(ConflictError):
        client.request("POST", "stories/bulk/claim", json={"story_ids": []})
    assert other.methods == ["POST"]


def test_an_answer_that_is_not_ours_keeps_its_status(flaky: Flaky) -> None:
    server = flaky(0, b"<html>hello</html>")
    with Client(server.url, "k", retry=QUICK) as client, pytest.raises(ServerError) as raised:
        client.get_tenant()
    assert raised.value.code == "bad_response"


def test_no_answer_in_time_is_a_timeout(silent: str) -> None:
    retry = RetryPolicy(attempts=2, initial=0.01, maximum=0.01)
    client = Client(silent, "k", timeout=0.2, retry=retry)
    with client, pytest.raises(NetworkError) as raised:
        client.get_tenant()
    assert (raised.value.status, raised.value.code) == (None, "timeout")


def test_rate_limited_carries_retry_after_and_is_not_retried(flaky: Flaky) -> None:
    envelope = {"status": 429, "code": "rate_limited", "message": "slow down"}
    body = json.dumps({"error": {**envelope, "details": {"retry_after_seconds": 7}}})
    server = flaky(1, failure=(429, body.encode()))
    with Client(server.url, "k", retry=QUICK) as client, pytest.raises(RateLimitedError) as raised:
        client.get_tenant()
    error = raised.value
    assert (error.status, error.code, error.retry_after) == (429, "rate_limited", 7.0)
    assert error.details == {"retry_after_seconds": 7}
    assert server.methods == ["GET"]
