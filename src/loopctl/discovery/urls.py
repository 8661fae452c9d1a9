"""The server's public base URL, and what may be cached when it comes from the request.

With ``LOOPCTL_PUBLIC_URL`` set, links and redirects use it and documents built from it
may be cached publicly. Without it they are built from the request's Host header, which any
client can set: such a response is marked ``Vary: Host`` and ``private``, so a shared cache
never serves one client's Host to another.
"""

from typing import NamedTuple

from fastapi import Request
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import Receive, Scope, Send


class BaseUrl(NamedTuple):
    url: str  # no trailing slash
    from_request: bool

    def cache_headers(self, max_age: int) -> dict[str, str]:
        if self.from_request:
            return {"Cache-Control": f"private, max-age={max_age}", "Vary": "Host"}
        return {"Cache-Control": f"public, max-age={max_age}"}


def base_url(request: Request) -> BaseUrl:
    public: str | None = request.app.state.settings.public_url
    if public:
        return BaseUrl(public, from_request=False)
    return BaseUrl(str(request.base_url).rstrip("/"), from_request=True)


class SlashRedirect:
    """The router's fallback: Starlette's trailing-slash redirect, with a Location that
    never comes from the Host header (the public URL, or a path relative to the request).
    """

    def __init__(self, router: Router, public_url: str | None) -> None:
        self.router = router
        self.prefix = public_url or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self._target(scope) if scope["type"] == "http" else None
        if target is None:
            await self.router.not_found(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        location = self.prefix + target + (f"?{query}" if query else "")
        # No Cache-Control: a redirect is cheap to repeat, and caches need not keep it.
        await RedirectResponse(location, status_code=307)(scope, receive, send)

    def _target(self, scope: Scope) -> str | None:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if path == "/":
            return None
        target = path.rstrip("/") if path.endswith("/") else path + "/"
        # "//host" would be read as another server by the client.
        if not target.startswith("/") or target.startswith("//"):
            return None
        probe = {**scope, "path": target, "root_path": ""}
        for route in self.router.routes:
            match, _ = route.matches(probe)
            if match is not Match.NONE:
                return target
        return None
