"""The API's /docs page in a real browser with every request outside the server blocked: Swagger UI comes
from this server (the pinned swagger-ui-dist npm package) and works under the cross-origin isolation headers
the server sends with every response."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def test_docs_work_offline_and_an_operation_expands(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    own_origin = urlsplit(server).netloc
    outside: list[str] = []

    def only_this_server(route):
        if urlsplit(route.request.url).netloc == own_origin:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    response = page.goto(server + "/docs")
    assert response.headers["cross-origin-embedder-policy"] == "require-corp"
    translate = page.locator("#operations-generate-translate_translate_post")
    translate.locator(".opblock-summary").click()
    # Expanded: the operation's form fields and responses are on the page.
    body = translate.locator(".opblock-body")
    body.get_by_text("style_id", exact=True).wait_for()
    assert body.locator(".responses-table").first.is_visible()
    assert body.get_by_text("422", exact=True).first.is_visible()
    assert page.evaluate("() => crossOriginIsolated") is True
    assert not outside and not failed and not errors, (outside, failed, errors)
    context.close()
