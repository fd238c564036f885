"""The API docs work offline: /docs and /redoc load every asset from this server (bot/api/docs.py), and are
absent when not enabled. A minimal app, not the project's (that one needs the index)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.api.docs import install_docs

URL_ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.I)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)  # any scheme (http:, https:, data:…) or protocol-relative
ASSET_TYPES = ("text/javascript", "application/javascript", "text/css", "image/png")


def make_app(*, stock_docs: bool = False) -> FastAPI:
    app = FastAPI(title="docs test") if stock_docs else FastAPI(title="docs test", docs_url=None, redoc_url=None)

    @app.get("/api/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


def client(enabled: bool) -> TestClient:
    app = make_app()
    install_docs(app, enabled)
    return TestClient(app)


def page_urls(html: str) -> list[str]:
    """Every src/href value of a page, failing on any that would leave this server."""
    urls = URL_ATTR.findall(html)
    external = [u for u in urls if EXTERNAL.match(u) or "http://" in u or "https://" in u]
    assert not external, f"the page refers to other servers: {external}"
    return urls


@pytest.mark.parametrize(("path", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_docs_pages_load_every_asset_from_this_server(path: str, script: str) -> None:
    with client(True) as c:
        page = c.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "://" not in page.text  # no absolute URL anywhere, not even in the inline script
        urls = page_urls(page.text)
        assert any(u.endswith(script) for u in urls), urls
        for url in urls:
            asset = c.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].split(";")[0] in ASSET_TYPES, (url, asset.headers["content-type"])
            assert len(asset.content) > 1000, url
            if url.endswith(".js"):
                assert len(asset.content) > 500_000, url  # the real bundle, not a stub
        assert "/openapi.json" in page.text
        assert c.get("/openapi.json").json()["paths"].keys() == {"/api/ping"}


def test_swagger_ui_makes_no_validator_request() -> None:
    """Swagger UI's default validatorUrl sends the spec URL to validator.swagger.io; null turns the badge off."""
    with client(True) as c:
        assert '"validatorUrl": null' in c.get("/docs").text


def test_redoc_blocks_its_cdn_logo() -> None:
    """ReDoc's sidebar loads https://cdn.redoc.ly/redoc/logo-mini.svg from its JS: the page's CSP forbids it."""
    with client(True) as c:
        policy = c.get("/redoc").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["img-src"] == "'self' data:"
    assert directives["script-src"] == "'self'"  # the ReDoc page has no inline script


def test_oauth2_redirect_page_is_served() -> None:
    with client(True) as c:
        page = c.get("/docs/oauth2-redirect")
        assert page.status_code == 200 and "swaggerUIRedirectOauth2" in page.text
        page_urls(page.text)


def test_docs_follow_the_root_path() -> None:
    """Behind a proxy that mounts the app under a prefix, the asset and schema URLs carry the prefix."""
    app = make_app()
    install_docs(app, True)
    with TestClient(app, root_path="/bot") as c:
        html = c.get("/docs").text
    assert "/bot/docs-static/swagger-ui-bundle.js" in html and "'/bot/openapi.json'" in html


def test_docs_are_absent_when_not_enabled() -> None:
    with client(False) as c:
        for path in ("/docs", "/docs/oauth2-redirect", "/redoc", "/docs-static/swagger-ui-bundle.js"):
            assert c.get(path).status_code == 404, path
        assert c.get("/api/ping").status_code == 200


@pytest.mark.parametrize("enabled", [True, False])
def test_an_app_with_fastapis_own_docs_is_refused(enabled: bool) -> None:
    with pytest.raises(ValueError, match="docs_url=None"):
        install_docs(make_app(stock_docs=True), enabled)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_check_catches_fastapis_stock_pages(path: str) -> None:
    """The same check fails on FastAPI's default pages, which load Swagger UI, ReDoc and fonts from CDNs."""
    with TestClient(make_app(stock_docs=True)) as c:
        html = c.get(path).text
    with pytest.raises(AssertionError, match="refers to other servers"):
        page_urls(html)
