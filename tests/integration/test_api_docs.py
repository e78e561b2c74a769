"""GET /openapi.json, GET /docs and GET /docs/{asset}: the API's own documentation, served offline.

The page is checked as a browser would use it at both places it is served from: ``/docs`` on a
local run and ``/<stage>/docs`` behind API Gateway. tests/e2e/test_docs_browser.py renders it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from local import template as tpl
from tests.support.apigw import Api, Reply, event, run

DOCS = tpl.ROOT / "docs"
SWAGGER_UI = DOCS / "node_modules" / "swagger-ui-dist"
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
ONE_YEAR = 365 * 24 * 3600
# Where the page is served: a local run, and API Gateway's stage URL (its stage path before /docs).
PAGE_URLS = {
    "local run": ("http://127.0.0.1:3000/docs", ""),
    "API Gateway stage": ("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/Prod/docs", "/Prod"),
}


class References(HTMLParser):
    """Every URL an HTML page makes a browser load: ``src`` and ``href`` attributes, and the inline
    scripts' text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value or "" for name, value in attrs if name in {"src", "href"}]
        self._in_script = tag == "script" and not dict(attrs).get("src")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def references(html: str) -> References:
    found = References()
    found.feed(html)
    return found


def routed_path(page_url: str, reference: str, stage: str) -> str:
    """The API path a browser on ``page_url`` asks for when the page refers to ``reference``."""
    path = urlsplit(urljoin(page_url, reference)).path
    assert path.startswith(stage + "/"), (page_url, reference, path)
    return path.removeprefix(stage)


def assert_not_found(reply: Reply) -> None:
    assert reply.status == 404, reply.text
    assert reply.header("Content-Type") == "application/json"
    assert reply.body == {
        "success": False,
        "code": "NOT_FOUND",
        "message": "No such documentation asset.",
        "requestId": reply.header("x-request-id"),
    }


# --- GET /openapi.json -------------------------------------------------------------------------------


def test_openapi_document_is_the_repo_document_served_at_the_request_url(api: Api):
    # Given the document kept in the repo
    kept = json.loads((DOCS / "openapi.json").read_text())

    # When it is fetched, with no token
    reply = api.call("GET", "/openapi.json")

    # Then it is that OpenAPI 3.1 document, its one server being the URL the request was made to
    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-request-id")
    document = reply.body
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "https://api.test.local"}]  # the test events' domainName
    assert {k: v for k, v in document.items() if k != "servers"} == {
        k: v for k, v in kept.items() if k != "servers"
    }
    assert "/partner/v1/clients" in document["paths"]


def test_openapi_document_server_follows_each_requests_stage_url(api: Api):
    # Given one container answering requests that came through two API Gateway stages
    module = next(r.module for r in tpl.routes() if (r.method, r.path) == ("GET", "/openapi.json"))
    servers = {}
    for stage in ("dev", "Prod"):
        evt: dict[str, Any] = event("GET", "/openapi.json")
        evt["requestContext"] |= {
            "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
            "stage": stage,
        }

        # When each asks for the document
        reply = run(module, evt)

        # Then each is told its own stage's URL
        assert reply.status == 200, reply.text
        servers[stage] = reply.body["servers"]
    assert servers == {
        "dev": [{"url": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"}],
        "Prod": [{"url": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/Prod"}],
    }


def test_openapi_document_server_is_the_configured_public_url(api: Api, monkeypatch: pytest.MonkeyPatch):
    # Given a custom domain configured as the public base URL
    from partner_api.config import settings

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://partners.example.com/")
    settings.cache_clear()

    # When the document is fetched
    reply = api.call("GET", "/openapi.json")
    settings.cache_clear()

    # Then its server is that URL
    assert reply.body["servers"] == [{"url": "https://partners.example.com"}]


# --- GET /docs ---------------------------------------------------------------------------------------


def test_docs_page_is_html_that_needs_no_token(api: Api):
    reply = api.call("GET", "/docs", token="garbage")

    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    assert reply.header("x-request-id")
    assert reply.text.lstrip().lower().startswith("<!doctype html>")
    assert '<div id="swagger-ui">' in reply.text


def test_docs_page_refers_to_nothing_outside_the_api(api: Api):
    # Given the page
    page = api.call("GET", "/docs").text
    found = references(page)

    # Then it names no other site: no absolute URL anywhere, in markup or script
    assert not re.search(r"https?://|//[a-z0-9]", page, re.IGNORECASE)
    # And every URL it loads is relative to the page (an absolute path would miss the stage path),
    # or data the page carries itself
    assert found.urls
    for url in found.urls:
        assert url.startswith("data:") or not (url.startswith("/") or urlsplit(url).scheme), url
    # And Swagger UI's online validator (another site) is switched off
    assert re.search(r"validatorUrl:\s*null", "".join(found.scripts))


@pytest.mark.parametrize("place", sorted(PAGE_URLS))
def test_every_url_of_the_docs_page_resolves_to_a_route_that_answers(api: Api, place: str):
    # Given the page, as a browser has it at /docs locally or at /<stage>/docs behind API Gateway
    page_url, stage = PAGE_URLS[place]
    found = references(api.call("GET", "/docs").text)
    loaded = [url for url in found.urls if not url.startswith("data:")]
    loaded += re.findall(r'url:\s*"([^"]+)"', "".join(found.scripts))  # the document Swagger UI fetches

    # When the browser resolves each URL against the page's and asks the API for it
    replies = {url: api.call("GET", routed_path(page_url, url, stage)) for url in loaded}

    # Then the stylesheet, the script and the document all answer
    assert sorted(urlsplit(url).path for url in replies) == [
        "docs/swagger-ui-bundle.js",
        "docs/swagger-ui.css",
        "openapi.json",
    ]
    for url, reply in replies.items():
        assert reply.status == 200, (url, reply.text[:200])


# --- GET /docs/{asset} -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_docs_assets_are_swagger_ui_files_cached_for_a_year(api: Api, name: str):
    # When an asset the page uses is fetched, with no token
    reply = api.call("GET", f"/docs/{name}")

    # Then it is the file of the pinned swagger-ui-dist, with its type, cacheable for a year
    assert reply.status == 200, reply.text[:200]
    assert reply.header("Content-Type") == ASSETS[name]
    assert reply.header("x-request-id")
    assert reply.text.encode() == (SWAGGER_UI / name).read_bytes()
    directives = dict(d.strip().partition("=")[::2] for d in (reply.header("Cache-Control") or "").split(","))
    assert "public" in directives
    assert int(directives["max-age"]) >= ONE_YEAR


def test_docs_page_asks_for_assets_by_version_so_a_years_cache_is_safe(api: Api):
    # Given the version of swagger-ui-dist installed from docs/package-lock.json
    version = json.loads((SWAGGER_UI / "package.json").read_text())["version"]
    assert json.loads((DOCS / "package.json").read_text())["dependencies"]["swagger-ui-dist"] == version
    assert version.startswith("5.")

    # Then the page's asset URLs carry it: a new version is a new URL, never a stale cached file
    urls = [u for u in references(api.call("GET", "/docs").text).urls if u.startswith("docs/")]
    assert sorted(urls) == sorted(f"docs/{name}?v={version}" for name in ASSETS)


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "package.json",
        "swagger-ui.js",
        "swagger-ui-bundle.js.map",
        "favicon-32x32.png",
        "openapi.json",
        "docs_asset.py",
        "..",
        "..%2Fopenapi.json",
        "..%2F..%2Fopenapi.json",
        "%2E%2E%2Fpackage.json",
        "SWAGGER-UI.CSS",
    ],
)
def test_any_other_asset_name_is_not_found(api: Api, name: str):
    assert_not_found(api.call("GET", f"/docs/{name}"))


def test_a_decoded_traversal_in_the_path_parameter_is_not_found(api: Api):
    # Given an event whose asset parameter holds a path, as if a proxy had decoded %2F
    module = next(r.module for r in tpl.routes() if (r.method, r.path) == ("GET", "/docs/{asset}"))
    evt = event(
        "GET",
        "/docs/..%2Fopenapi.json",
        resource="/docs/{asset}",
        path_params={"asset": "../openapi.json"},
    )

    # Then it is an unknown asset like any other
    assert_not_found(run(module, evt))
