"""Schemathesis over the OpenAPI document, against a live server: no 5xx, one error envelope."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.fixtures.database import Cluster, Urls
from tests.fixtures.server import Server, external_env, start

EXAMPLES = 30
KEY = re.compile(r"^\s+(lc_[A-Za-z0-9_-]{43})$", re.MULTILINE)


@pytest.fixture(scope="module")
def live(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    name = f"fuzz_{cluster.suffix}"
    cluster.drop(name)
    urls: Urls = cluster.clone(name)
    data: Path = tmp_path_factory.mktemp("fuzz")
    # Schemathesis resends every successful request with invalid credentials; past the
    # failure throttle those get 429 (by design), which its auth check does not expect.
    env = {**external_env(urls, cluster), "LOOPCTL_AUTH_FAILURES_PER_IP_PER_MINUTE": "1000000"}
    server = start(data / "serve", env)
    try:
        yield server, KEY.findall(server.output())[0]
    finally:
        server.stop()
        cluster.drop(name)


def _log_of(server: Server, body: str) -> str:
    """The server's log lines for the failed request, so CI output shows the traceback."""
    match = re.search(r'"request_id":"([0-9a-f]+)"', body)
    log = server.output()
    if match is None:
        return log[-4000:]
    start = log.find(match.group(1))
    return log[max(0, start - 4000) : start + 4000] if start >= 0 else log[-4000:]


def _fuzz_operation(operation: Any, mode: GenerationMode, server: Server, key: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code < 500, (
            f"{operation.label}: {response.text}\n{_log_of(server, response.text)}"
        )
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["status"] == response.status_code, response.text
            assert isinstance(error["code"], str), response.text
            assert error["code"], response.text
            assert isinstance(error["message"], str), response.text
            assert error["message"], response.text
        elif mode is GenerationMode.NEGATIVE:
            # Schemathesis's negative cases are not always invalid: it mutates one branch of
            # an anyOf (null -> string on a nullable field) and then reports the valid value
            # being accepted. The body must still match the documented schema.
            case.validate_response(response, excluded_checks=[negative_data_rejection])
        else:
            case.validate_response(response)  # the body matches the documented schema

    try:
        run()
    except Unsatisfiable:
        # An operation with no parameters and no body has no invalid input to send.
        if mode is not GenerationMode.NEGATIVE:
            raise


@pytest.mark.slow
@pytest.mark.xdist_group("serve")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_never_fails_and_always_answers_in_the_envelope(
    live: tuple[Server, str], mode: GenerationMode
) -> None:
    server, key = live
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the spec has an invalid operation: {result}"
        operations.append(result.ok())
    assert len(operations) >= 15
    for operation in operations:
        # A live stream never ends; tests/changes/test_stream.py covers its refusals.
        if operation.path.endswith("/changes/stream"):
            continue
        _fuzz_operation(operation, mode, server, key)
