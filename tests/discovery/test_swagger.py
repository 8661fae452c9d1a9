"""Swagger UI served from packaged assets (no CDN), and the entry points leading to it."""

from html.parser import HTMLParser

import httpx
import pytest

from loopctl.discovery.swagger import ASSETS, ASSETS_DIR

CONTENT_TYPES = {
    "js": "text/javascript",
    "css": "text/css",
    "favicon": "image/png",
}


class _Links(HTMLParser):
    """Every URL the page makes the browser load: script src, link href, and the inline
    configuration's spec url."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append(value)


async def test_swagger_ui_loads_only_local_assets_and_they_are_served(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/swaggerui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert "url: '/api/v1/openapi.json'" in page.text
    parser = _Links()
    parser.feed(page.text)
    assert sorted(parser.urls) == sorted(f"/swaggerui/assets/{name}" for name in ASSETS.values())
    # Nothing from another host: no absolute URL anywhere in the page.
    assert "://" not in page.text
    assert '"validatorUrl": null' in page.text
    for kind, name in ASSETS.items():
        asset = await client.get(f"/swaggerui/assets/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-type"].startswith(CONTENT_TYPES[kind]), name
        assert asset.content == (ASSETS_DIR / name).read_bytes()
    assert (await client.get("/api/v1/openapi.json")).status_code == 200


async def test_the_bundle_is_swagger_ui_5_which_reads_openapi_3_1() -> None:
    # Swagger UI 4 shows "Unable to render this definition" for an OpenAPI 3.1 document.
    bundle = (ASSETS_DIR / ASSETS["js"]).read_text(errors="replace")
    assert "SwaggerUIBundle" in bundle
    assert '"5.' in bundle


@pytest.mark.parametrize("path", ["/swaggerui/assets/", "/swaggerui/assets/../../etc/passwd"])
async def test_the_asset_mount_serves_no_listing_and_nothing_outside(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "root:" not in response.text


@pytest.mark.parametrize("path", ["/docs", "/swagger"])
async def test_docs_and_swagger_redirect_to_swagger_ui(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 302
    assert response.headers["location"] == "/swaggerui"


async def test_the_root_sends_browsers_to_swagger_ui_and_clients_to_the_index(
    client: httpx.AsyncClient,
) -> None:
    browser = await client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 302
    assert browser.headers["location"] == "/swaggerui"
    api = await client.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 200
    assert api.json() == (await client.get("/api/v1/")).json()
    for response in (browser, api):
        assert "Accept" in response.headers["vary"]
