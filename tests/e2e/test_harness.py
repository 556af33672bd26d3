"""The harness itself: it must fail a journey on what it promises to catch."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import ASYNC_UNSAFE, ASYNC_UNSAFE_BEFORE_THE_RUN

ROOT = Path(__file__).resolve().parents[2]

BAD_PAGE = """<!DOCTYPE html><html lang="fr"><head><title>Page fautive</title></head>
<body><main><h1>Page fautive</h1>
<img src="/static/mairie/favicon.svg">
<button></button>
</main></body></html>"""

THIRD_PARTY_PAGE = """<!DOCTYPE html><html lang="fr"><head><title>Page avec CDN</title>
<link rel="stylesheet" href="https://cdn.example.net/style.css"></head>
<body><main><h1>Page avec CDN</h1></main></body></html>"""

ORIGIN_PAGE = """<!DOCTYPE html><html lang="fr"><head><title>Autre origine</title>
<link rel="stylesheet" href="{live_server}/static/style.css"></head>
<body><main><h1>Autre origine</h1></main></body></html>"""


def _serve(page, path, html):
    page.route(
        f"**{path}", lambda route: route.fulfill(status=200, body=html, content_type="text/html")
    )


def test_a_serious_accessibility_violation_fails_with_a_readable_message(page, page_watch):
    _serve(page, "/_harnais/fautive/", BAD_PAGE)
    with pytest.raises(AssertionError) as failure:
        page.goto("/_harnais/fautive/")
    message = str(failure.value)
    assert "/_harnais/fautive/" in message
    assert "[critical] image-alt" in message and "[critical] button-name" in message
    assert "dequeuniversity.com" in message and "<img" in message
    page_watch.take_problems()
    shots = list(page_watch.artefacts.glob("*.png"))
    assert [shot.name for shot in shots] == ["01-harnais-fautive.png"]


def test_a_page_without_javascript_is_checked_too(new_page, page_watch):
    """axe-core cannot run in a page opened with JavaScript disabled: its document is checked
    in a companion page, and a violation still fails the journey."""
    page = new_page(java_script_enabled=False)
    _serve(page, "/_harnais/sans-js/", BAD_PAGE.replace("<main>", "<main><script>"
                                                         "document.title='script'</script>"))
    with pytest.raises(AssertionError) as failure:
        page.goto("/_harnais/sans-js/")
    message = str(failure.value)
    assert "/_harnais/sans-js/" in message and "[critical] image-alt" in message
    assert page.title() == "Page fautive"  # the page's own script did not run
    page_watch.take_problems()


def test_a_request_to_another_host_fails_the_journey(page, page_watch):
    _serve(page, "/_harnais/cdn/", THIRD_PARTY_PAGE)
    page.route(
        "https://cdn.example.net/**",
        lambda route: route.fulfill(status=200, body="", content_type="text/css"),
    )
    with pytest.raises(
        AssertionError,
        match=r"requête vers un tiers \(stylesheet\) : "
        r"https://cdn\.example\.net/style\.css",
    ):
        page.goto("/_harnais/cdn/")
        page.title()
    page_watch.take_problems()


def test_a_page_loaded_but_never_checked_is_reported(page, page_watch, live_server):
    page.goto("/")
    page_watch.loaded.setdefault(f"{live_server.url}/jamais-vue/", None)
    with pytest.raises(AssertionError, match="jamais vérifiées.*\n.*/jamais-vue/"):
        page_watch.finish()
    page_watch.loaded.pop(f"{live_server.url}/jamais-vue/")


def test_a_page_opened_on_another_origin_may_only_call_that_origin(new_page, page_watch,
                                                                    live_server):
    """`new_page(origin=...)` is for a server other than the live server (uvicorn, say): the
    live server itself is then another host, as a CDN would be."""
    other = live_server.url.replace("localhost", "127.0.0.1")
    page = new_page(origin=other)
    _serve(page, "/_harnais/origine/", ORIGIN_PAGE.format(live_server=live_server.url))
    page.route(
        f"{live_server.url}/**",
        lambda route: route.fulfill(status=200, body="", content_type="text/css"),
    )
    with pytest.raises(
        AssertionError,
        match=rf"requête vers un tiers \(stylesheet\) : {live_server.url}/static/style\.css",
    ):
        page.goto("/_harnais/origine/")
        page.title()
    assert page.url == f"{other}/_harnais/origine/"
    page_watch.take_problems()


# Browser tests outside tests/e2e: the harness applies to them too.
BROWSER_TESTS = (
    "tests/e2e/test_keyboard_skip_link.py",
    "mairie/api/tests/test_pages_in_browser.py",
    "mairie/core/notifications/tests/test_live_in_browser.py",
)


def _pytest(*args, **env):
    full_env = {**os.environ, **env}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *BROWSER_TESTS,
            *args,
        ],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_chromium_the_journeys_are_deselected_with_the_reason():
    run = _pytest(MAIRIE_CHROMIUM="/nonexistent/chromium", MAIRIE_REQUIRE_E2E="")
    assert run.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, run.stdout + run.stderr
    assert "6 parcours navigateur désélectionnés" in run.stdout
    assert "Chromium introuvable (/nonexistent/chromium)" in run.stdout


def test_without_chromium_the_journeys_fail_when_they_are_required():
    run = _pytest(MAIRIE_CHROMIUM="/nonexistent/chromium", MAIRIE_REQUIRE_E2E="1")
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "MAIRIE_REQUIRE_E2E est activé" in run.stdout
    assert "désélectionnés" not in run.stdout
    for path in BROWSER_TESTS:
        assert path in run.stdout  # in the summary of failures


def test_no_browser_state_outlives_the_browser_tests():
    """Runs after this file's browser tests (pytest keeps the order of a file): Chromium has
    been stopped, so Playwright's event loop and DJANGO_ALLOW_ASYNC_UNSAFE, which the browser
    tests need, are gone, and Django's async-safety checks apply again to the next tests."""
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert os.environ.get(ASYNC_UNSAFE) == ASYNC_UNSAFE_BEFORE_THE_RUN
