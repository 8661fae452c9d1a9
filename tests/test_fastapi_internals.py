"""The FastAPI and Starlette internals kit/direct.py and kit/stack.py rely on.

The fast path reuses FastAPI's own pieces (path validation, response serialisation, the
inclusion context, the exception-handler scope key) below its public API. An upgrade that
renames or reshapes any of them must fail here, by name, before it changes behaviour
quietly. The upgrade procedure is in docs/architecture.md ("Upgrading FastAPI").
"""

import dataclasses
import importlib
import inspect
from pathlib import Path

import fastapi
import fastapi.routing
import starlette
from fastapi.dependencies import utils as dependency_utils
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from loopctl.kit import direct

# The versions whose internals were last reviewed against kit/direct.py and kit/stack.py.
REVIEWED = {"fastapi": "0.165.0"}

HINT = "FastAPI changed an internal the fast path uses; see Upgrading FastAPI in architecture.md"


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_reviewed_fastapi_version_is_installed() -> None:
    assert fastapi.__version__ == REVIEWED["fastapi"], (
        f"FastAPI {fastapi.__version__} is not the reviewed {REVIEWED['fastapi']}: {HINT}"
    )


def test_path_validation_takes_fields_and_received_params() -> None:
    params = _parameters(dependency_utils.request_params_to_args)
    assert params == ["fields", "received_params"], HINT


def test_body_validation_takes_the_keywords_direct_passes() -> None:
    params = _parameters(dependency_utils.request_body_to_args)
    assert params == ["body_fields", "received_body", "embed_body_fields"], HINT
    assert inspect.iscoroutinefunction(dependency_utils.request_body_to_args), HINT
    # The handler direct.py mirrors: JSON read before the dependencies, FastAPI's strict
    # content type, HTTPException passed through, anything else a 400.
    source = inspect.getsource(fastapi.routing.get_request_handler)
    for phrase in ("strict_content_type", '"json_invalid"', "There was an error parsing the body"):
        assert phrase in source, HINT
    assert hasattr(APIRoute("/x", endpoint=_endpoint), "strict_content_type"), HINT


def test_serialize_response_takes_the_keywords_direct_passes() -> None:
    params = set(_parameters(fastapi.routing.serialize_response))
    used = {
        "field",
        "response_content",
        "include",
        "exclude",
        "by_alias",
        "exclude_unset",
        "exclude_defaults",
        "exclude_none",
        "dump_json",
    }
    assert used <= params, f"{sorted(used - params)} missing: {HINT}"


def test_dependant_has_the_fields_a_plan_reads() -> None:
    fields = {field.name for field in dataclasses.fields(Dependant)}
    used = {
        "path_params",
        "query_params",
        "header_params",
        "cookie_params",
        "body_params",
        "dependencies",
        "name",
        "call",
        "request_param_name",
        "websocket_param_name",
        "http_connection_param_name",
        "response_param_name",
        "background_tasks_param_name",
        "security_scopes_param_name",
        "own_oauth_scopes",
    }
    assert used <= fields, f"{sorted(used - fields)} missing: {HINT}"
    # A new kind of parameter would be one a plan does not know to refuse.
    known = used | {"parent_oauth_scopes", "use_cache", "path", "scope", "concurrency"}
    assert fields <= known, f"new Dependant fields {sorted(fields - known)}: {HINT}"


def test_the_inclusion_context_scope_keys() -> None:
    assert getattr(fastapi.routing, "_FASTAPI_SCOPE_KEY", None) == direct._SCOPE_KEY, HINT
    assert (
        getattr(fastapi.routing, "_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY", None)
        == direct._CONTEXT_KEY
    ), HINT
    assert callable(getattr(fastapi.routing, "iter_route_contexts", None)), HINT


def test_the_scope_keys_the_stack_provides_are_the_ones_fastapi_reads() -> None:
    routing = inspect.getsource(fastapi.routing)
    assert '"fastapi_middleware_astack"' in routing, HINT
    handlers = Path(starlette.__file__).with_name("_exception_handler.py").read_text()
    assert 'scope["starlette.exception_handlers"]' in handlers, HINT
    telemetry = Path(fastapi.__file__).parent / "telemetry" / "_asgi.py"
    assert '"fastapi.telemetry"' in telemetry.read_text(), HINT


def test_route_and_app_hooks_the_fast_path_overrides() -> None:
    assert _parameters(APIRoute.handle) == ["self", "scope", "receive", "send"], HINT
    assert _parameters(fastapi.FastAPI.build_middleware_stack) == ["self"], HINT
    # kit/stack.py's one private import.
    telemetry = importlib.import_module("fastapi.telemetry._asgi")
    assert hasattr(telemetry, "ExceptionTelemetryMiddleware"), HINT
    route_fields = {
        "response_field",
        "response_class",
        "status_code",
        "response_model_include",
        "response_model_exclude",
        "response_model_by_alias",
        "response_model_exclude_unset",
        "response_model_exclude_defaults",
        "response_model_exclude_none",
        "dependant",
    }
    route = APIRoute("/x", endpoint=_endpoint)
    missing = {name for name in route_fields if not hasattr(route, name)}
    assert not missing, f"{sorted(missing)} missing on APIRoute: {HINT}"


async def _endpoint() -> None:
    """An endpoint to build an APIRoute with."""
