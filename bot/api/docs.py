"""Self-hosted API docs: Swagger UI at /docs and ReDoc at /redoc, with every asset served from this server.

FastAPI's stock pages load Swagger UI, ReDoc, Google Fonts and a favicon from the internet, so offline they are
blank and online they run third-party script without an integrity check. Here the assets come from the
``fastapi-offline`` package in site-packages (Swagger UI's ``swagger-ui-bundle.js`` and ``swagger-ui.css``,
ReDoc's ``redoc.standalone.js`` and FastAPI's ``favicon.png``), mounted at ``/docs-static``, following FastAPI's
"Custom Docs UI Static Assets (Self-Hosting)". Only that package's files are used, not its ``FastAPIOffline``
factory (``fastapi_offline`` is never imported). Build the app with ``FastAPI(docs_url=None, redoc_url=None)``
and call ``install_docs(app, enabled=...)``; when not enabled, nothing is added and /docs and /redoc are 404.

The pages make no request to another server: the favicon is local, Swagger UI's validator badge is off, Google
Fonts are left out, and /redoc carries its own Content-Security-Policy that blocks the one image ReDoc's script
loads from its CDN.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PACKAGE = "fastapi_offline"  # PyPI: fastapi-offline
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
STATIC_URL = "/docs-static"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
# Swagger UI's default validatorUrl would send the spec URL to validator.swagger.io for a badge (shown for
# Swagger 2.0 specs, not for FastAPI's OpenAPI 3.x ones): null keeps it off whatever the schema.
SWAGGER_UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None}
# ReDoc's sidebar always shows an <img> from https://cdn.redoc.ly (hidden when it fails to load): this policy
# blocks it. The page has no inline script; ReDoc's search runs in a worker made from a blob: URL.
REDOC_CSP = (
    "default-src 'self'; script-src 'self'; worker-src blob:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def with_script_hashes(page: HTMLResponse) -> HTMLResponse:
    """The page with a Content-Security-Policy that allows its own inline scripts by their sha256 hash (computed
    from the very HTML sent, so a FastAPI upgrade that changes the page cannot break or loosen it)."""
    body = bytes(page.body).decode("utf-8")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    page.headers["content-security-policy"] = REDOC_CSP.replace("script-src 'self'", f"script-src 'self' {hashes}")
    return page


def asset_dir() -> Path:
    """The package's folder of Swagger UI and ReDoc files (found without importing the package)."""
    spec = importlib.util.find_spec(ASSETS_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the API docs need the {ASSETS_PACKAGE!r} package: pip install fastapi-offline")
    folder = Path(spec.origin).parent / "static"
    missing = [name for name in ASSET_FILES if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"{folder} lacks {', '.join(missing)}: has the fastapi-offline layout changed?")
    return folder


def install_docs(app: FastAPI, enabled: bool) -> None:
    """Serve /docs, /docs/oauth2-redirect and /redoc from local assets when ``enabled``; otherwise add nothing.

    The app must be built with ``docs_url=None, redoc_url=None``: FastAPI's own routes would come first and load
    the CDN, and would stay up when the docs are meant to be off.
    """
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("build the app with FastAPI(docs_url=None, redoc_url=None) before install_docs()")
    if not enabled:
        return
    if app.openapi_url is None:
        raise ValueError("the API docs need the OpenAPI schema: openapi_url is None")
    openapi_url = app.openapi_url
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    app.mount(STATIC_URL, StaticFiles(directory=asset_dir()), name="docs-static")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return with_script_hashes(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
                oauth2_redirect_url=root + oauth2_redirect_url if oauth2_redirect_url else None,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})},
            )
        )

    if oauth2_redirect_url:

        @app.get(oauth2_redirect_url, include_in_schema=False)
        async def swagger_ui_oauth2_redirect() -> HTMLResponse:
            return with_script_hashes(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["content-security-policy"] = REDOC_CSP
        return page
