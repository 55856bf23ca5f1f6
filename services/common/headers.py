"""Response headers every service sends: no caching of personal data, no referrer, no framing,
and a strict Content-Security-Policy on HTML pages.

`SecurityHeaders` (installed by `create_app`) adds to every HTTP response, unless the route set
the header itself:

- `Cache-Control: no-store`: inquiries, bills, SMS lists and documents carry personal data, and
  neither a browser nor a proxy may keep them (the docs page and the OpenAPI document excepted);
- `Referrer-Policy: no-referrer`, `X-Content-Type-Options: nosniff`;
- on an HTML response, `X-Frame-Options: DENY` and a Content-Security-Policy: `STRICT_CSP`
  (nothing may load, no script, no frame) unless the page set its own. `HtmlPage` is the
  response for a service's own pages (letters, the licence page): it allows exactly the page's
  inline `<style>` blocks by their SHA-256, and nothing else. The docs page (Swagger UI, from its
  CDN) gets `frame-ancestors 'none'` only.

uvicorn's `server` banner is turned off in `runtime.serve`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping

from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
DOCS_CSP = "frame-ancestors 'none'"
# Paths whose answers hold no personal data and may be cached (the API's own description).
_CACHEABLE_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})
_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def page_csp(html: str, form_action: str | None = None) -> str:
    """A CSP for `html` allowing only its own inline `<style>` blocks (by hash), and forms posting
    to `form_action` when given (e.g. `'self'`; else `'none'`)."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
            for block in _STYLE_BLOCK.findall(html)
        }
    )
    style = f"; style-src {' '.join(hashes)}" if hashes else ""
    csp = STRICT_CSP
    if form_action is not None:
        csp = csp.replace("form-action 'none'", f"form-action {form_action}")
    return csp + style


class HtmlPage(HTMLResponse):
    """An HTML page of the service's own, with the strict CSP its inline styles need."""

    def __init__(
        self,
        content: str,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        form_action: str | None = None,
    ) -> None:
        super().__init__(
            content,
            status_code=status_code,
            headers={
                "Content-Security-Policy": page_csp(content, form_action),
                **(headers or {}),
            },
        )


class HttpMiddleware:
    """A plain ASGI middleware that acts on HTTP requests only (`http`) and passes anything else
    (lifespan) through: no task and no streams per request, as Starlette's `BaseHTTPMiddleware`
    would add."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class SecurityHeaders(HttpMiddleware):
    """ASGI middleware adding the headers above to every HTTP response."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if path not in _CACHEABLE_PATHS:
                    headers.setdefault("Cache-Control", "no-store")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault(
                        "Content-Security-Policy", DOCS_CSP if path in _DOCS_PATHS else STRICT_CSP
                    )
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
