"""Every list carries meta.total_count beside meta.total, and every sortable list takes the
reference's sort_by/sort_order."""

from typing import Any

import httpx


async def test_every_list_response_documents_total_count(client: httpx.AsyncClient) -> None:
    spec: dict[str, Any] = (await client.get("/api/v1/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    meta = schemas["PageMeta"]
    assert {"total", "total_count", "limit", "offset"} <= set(meta["required"])
    lists = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            if name.startswith("Page_"):
                lists += 1
                assert schemas[name]["properties"]["meta"]["$ref"].endswith("/PageMeta"), (
                    method,
                    path,
                )
    assert lists >= 8


async def test_every_sortable_list_takes_the_reference_sort_parameters(
    client: httpx.AsyncClient,
) -> None:
    spec: dict[str, Any] = (await client.get("/api/v1/openapi.json")).json()
    sortable = 0
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            names = {p["name"] for p in operation.get("parameters", [])}
            if "sort" in names:
                sortable += 1
                assert {"sort_by", "sort_order"} <= names, path
    assert sortable >= 2
