"""Links, redirects and caching with and without LOOPCTL_PUBLIC_URL, under a hostile Host."""

from collections.abc import AsyncIterator

import httpx
import pydantic
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.config import Settings
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.http import API, client_for, data_of, rollback_runtime

PUBLIC = "https://loopctl.example/base"
HOSTILE = {"Host": "evil.example"}


@pytest.fixture
async def public_client(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> AsyncIterator[httpx.AsyncClient]:
    runtime = rollback_runtime(
        session_db, cluster, conn, public_url=PUBLIC + "/", allow_signup=False
    )
    async with client_for(runtime) as client:
        yield client


def _urls_in(value: object) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in _urls_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in _urls_in(v)]
    return [value] if isinstance(value, str) and "://" in value else []


async def test_with_a_public_url_every_link_uses_it_whatever_the_host(
    public_client: httpx.AsyncClient,
) -> None:
    response = await public_client.get("/.well-known/loopctl", headers=HOSTILE)
    doc = response.json()
    assert doc["api_base"] == f"{PUBLIC}/api/v1"
    assert doc["auth"]["signup"] == {"enabled": False, "url": f"{PUBLIC}/api/v1/tenants/register"}
    root = data_of(await public_client.get(f"{API}/", headers=HOSTILE))
    assert root["links"]["openapi"] == f"{PUBLIC}/api/v1/openapi.json"
    urls = _urls_in(doc) + _urls_in(root)
    assert len(urls) > 15
    assert all(url.startswith(PUBLIC + "/") for url in urls), urls
    assert "evil" not in response.text
    # Not derived from the request, so any cache may keep it.
    assert response.headers["cache-control"] == "public, max-age=300"
    assert "host" not in response.headers.get("vary", "").lower()


async def test_without_a_public_url_host_derived_documents_are_never_cached_publicly(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/.well-known/loopctl", headers=HOSTILE)
    assert response.json()["api_base"] == "http://evil.example/api/v1"
    assert response.headers["cache-control"] == "private, max-age=300"
    assert response.headers["vary"] == "Host"
    again = await client.get(
        "/.well-known/loopctl", headers={**HOSTILE, "If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert (again.headers["cache-control"], again.headers["vary"]) == (
        "private, max-age=300",
        "Host",
    )
    for path in (f"{API}/", "/"):
        index = await client.get(path, headers=HOSTILE)
        assert index.status_code == 200
        assert "host" in index.headers["vary"].lower(), path
        assert "public" not in index.headers.get("cache-control", ""), path


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/api/v1", "/api/v1/"),
        ("/api/v1/projects/?limit=5", "/api/v1/projects?limit=5"),
        ("/health/", "/health"),
        ("/swagger", "/swaggerui"),
        ("/docs", "/swaggerui"),
    ],
)
async def test_redirects_never_name_the_request_host(
    client: httpx.AsyncClient, public_client: httpx.AsyncClient, path: str, target: str
) -> None:
    relative = await client.get(path, headers=HOSTILE)
    assert relative.status_code in (302, 307)
    assert relative.headers["location"] == target
    public = await public_client.get(path, headers=HOSTILE)
    assert public.headers["location"] == PUBLIC + target


async def test_no_redirect_to_another_server_or_to_nothing(client: httpx.AsyncClient) -> None:
    for path in ("/nowhere/", "/api/v1/nowhere", "//evil.example/", "//health/"):
        # raw_path: httpx would otherwise read "//evil.example/" as a host.
        url = httpx.URL("http://testserver").copy_with(raw_path=path.encode())
        response = await client.get(url, headers=HOSTILE)
        assert "location" not in response.headers, path
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path


@pytest.mark.parametrize(
    "value",
    [
        "loopctl.example",
        "ftp://loopctl.example",
        "https://",
        "https://loopctl.example:99999",
        "https://loopctl.example/?a=1",
        "https://loopctl.example/#top",
        "https://admin:hunter2@loopctl.example",
    ],
)
def test_a_bad_public_url_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(pydantic.ValidationError) as raised:
        Settings(public_url=value)
    assert "public_url" in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("https://loopctl.example/", "https://loopctl.example"),
        ("http://10.0.0.5:4000/loopctl/", "http://10.0.0.5:4000/loopctl"),
        ("", None),
    ],
)
def test_a_public_url_is_kept_without_its_trailing_slash(value: str, stored: str | None) -> None:
    assert Settings(public_url=value).public_url == stored
