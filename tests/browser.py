"""Browser tests for the whole suite: Playwright (sync API) driving Debian's Chromium.

A pytest plugin (registered by the root `conftest.py`), so that every browser test, wherever it
lives, gets the same checks through the `page` fixture (or `new_page()`, for a second browser or
another server):

- each page the browser loads is checked with axe-core (shipped by the PyPI package
  `axe-playwright-python`) before the test touches it again; a violation of impact *serious* or
  *critical* fails the test with a readable list of rules and elements. A state a page reaches
  by script (a dialog opened, a live region filled) is checked with `page_watch.recheck(page)`;
- each checked page is saved as a screenshot under the artefacts folder (printed at the end of
  the run; `MAIRIE_E2E_ARTEFACTS` chooses it);
- every request the browser makes must go to the server under test (pytest-django's
  `live_server`, or the origin given to `new_page(origin=...)`): a request to any other host (a
  CDN, a font, a tracker) fails the test, as do an uncaught JavaScript error, a console error
  (a Content-Security-Policy refusal shows up there) and a server error (HTTP 5xx);
- when the test ends, every distinct URL loaded must have been checked.

A test is a browser test when it uses the `browser` fixture (through `page` or `new_page`) or is
marked `e2e`. Chromium is never downloaded (`playwright install` is not used): the tests run
against `/usr/bin/chromium` (`MAIRIE_CHROMIUM` to change it). Without it they are deselected with
the reason printed, or fail when `MAIRIE_REQUIRE_E2E=1` (CI).

Playwright's sync API keeps an event loop running in the test's thread while it is started, which
Django's ORM takes for async code: `DJANGO_ALLOW_ASYNC_UNSAFE` is set only while Chromium runs,
and Chromium runs only across consecutive browser tests — it is stopped, and the variable
restored, after the last one of a run, before any other test starts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("MAIRIE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A synthetic camera for pages that ask for one (the counter's scan page), used only
    # when a test's context grants the "camera" permission; others are refused as usual.
    "--use-fake-device-for-media-stream",
]
BLOCKING_IMPACTS = ("serious", "critical")
ACTION_TIMEOUT_MS = 10_000
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
ASYNC_UNSAFE_BEFORE_THE_RUN = os.environ.get(ASYNC_UNSAFE)  # what tests outside the browser see


def _require_e2e() -> bool:
    return os.environ.get("MAIRIE_REQUIRE_E2E", "") not in ("", "0")


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium introuvable ({CHROMIUM}) : installez le paquet Debian « chromium » "
            "ou indiquez MAIRIE_CHROMIUM"
        )
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"dépendance de test absente ({exc.name}) : make install"
    return None


def is_browser_test(item) -> bool:
    """Marked `e2e`, or uses the browser (directly or through `page` / `new_page`)."""
    return item.get_closest_marker("e2e") is not None or _uses_browser(item)


def _uses_browser(item) -> bool:
    return "browser" in getattr(item, "fixturenames", ())


# --- Collection: deselect (or keep, to fail them) the browser tests when Chromium is missing ---


_DESELECTED = pytest.StashKey[str]()
_ARTEFACTS = pytest.StashKey[Path]()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _uses_browser(item) and item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)
    journeys = [item for item in items if is_browser_test(item)]
    reason = browser_missing_reason()
    if not journeys or reason is None or _require_e2e():
        return
    selected = set(map(id, journeys))
    items[:] = [item for item in items if id(item) not in selected]
    config.hook.pytest_deselected(items=journeys)
    message = (
        f"e2e : {len(journeys)} parcours navigateur désélectionnés — {reason}. "
        "MAIRIE_REQUIRE_E2E=1 les rend obligatoires."
    )
    config.stash[_DESELECTED] = message
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, yellow=True, bold=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _DESELECTED in config.stash:
        terminalreporter.write_sep("-", config.stash[_DESELECTED], yellow=True)
    if _ARTEFACTS in config.stash:
        terminalreporter.write_line(
            f"e2e : captures d'écran des pages visitées dans {config.stash[_ARTEFACTS]}"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Required but impossible: fail before any fixture (live server, database) is set up."""
    if is_browser_test(item):
        reason = browser_missing_reason()
        if reason is not None:
            pytest.fail(
                f"MAIRIE_REQUIRE_E2E est activé et les parcours navigateur ne peuvent "
                f"pas tourner : {reason}",
                pytrace=False,
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test body: check the last pages and report what the watch found, so that a
    problem counts as a failure of the test itself (not as an error at teardown)."""
    result = yield
    watch = item.stash.get(_WATCH, None)
    if watch is not None:
        watch.finish()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Once the test's fixtures are gone: stop Chromium unless the next test uses it too, so
    that no other test runs beside Playwright's event loop or with DJANGO_ALLOW_ASYNC_UNSAFE."""
    try:
        return (yield)
    finally:
        chromium = item.config.stash.get(_CHROMIUM, None)
        if chromium is not None and (nextitem is None or not _uses_browser(nextitem)):
            chromium.stop()


def pytest_sessionfinish(session):
    chromium = session.config.stash.get(_CHROMIUM, None)
    if chromium is not None:
        chromium.stop()


# --- One Chromium for a run of consecutive browser tests ----------------------------------


class SharedChromium:
    """Playwright's driver and one headless Chromium, started by the first browser test of a
    run and stopped (by `pytest_runtest_teardown`) after the last one. Each test still gets
    fresh browser contexts: no cookie or storage crosses from one test to the next."""

    _UNSET = object()

    def __init__(self):
        self._manager = None
        self._browser = None
        self._saved_env: object = self._UNSET

    def get(self):
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        if self._manager is None:
            from playwright.sync_api import sync_playwright

            self._saved_env = os.environ.get(ASYNC_UNSAFE, self._UNSET)
            os.environ[ASYNC_UNSAFE] = "true"
            try:
                self._manager = sync_playwright().start()
            except BaseException:
                self._restore_env()
                raise
        self._browser = self._manager.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        return self._browser

    def stop(self) -> None:
        if self._manager is None:
            return
        try:
            if self._browser is not None and self._browser.is_connected():
                self._browser.close()
        finally:
            self._browser = None
            try:
                self._manager.stop()
            finally:
                self._manager = None
                self._restore_env()

    def _restore_env(self) -> None:
        if self._saved_env is self._UNSET:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = self._saved_env  # type: ignore[assignment]
        self._saved_env = self._UNSET


_CHROMIUM = pytest.StashKey[SharedChromium]()


# --- Watching pages -----------------------------------------------------------------------


class PageWatch:
    """Watches every page of one test: axe-core on each new document, screenshots, network."""

    # Page methods after which a new document may be there (checked right after), and methods
    # the test calls to act on or read the current page (checked right before).
    _NAVIGATIONS = (
        "goto",
        "reload",
        "go_back",
        "go_forward",
        "wait_for_url",
        "wait_for_load_state",
    )
    _USES = (
        "click",
        "dblclick",
        "fill",
        "press",
        "type",
        "check",
        "uncheck",
        "select_option",
        "set_input_files",
        "hover",
        "focus",
        "tap",
        "dispatch_event",
        "locator",
        "get_by_role",
        "get_by_text",
        "get_by_label",
        "get_by_placeholder",
        "get_by_alt_text",
        "get_by_title",
        "get_by_test_id",
        "title",
        "content",
        "text_content",
        "inner_text",
        "inner_html",
        "input_value",
        "get_attribute",
        "is_visible",
        "is_hidden",
        "is_checked",
        "is_enabled",
        "query_selector",
        "query_selector_all",
        "wait_for_selector",
    )
    _MARK = "__mairieChecked"

    def __init__(self, *, artefacts: Path, origin: str | None = None):
        self.netlocs: set[str] = set()
        self._netlocs_without_websocket: set[str] = set()
        self.artefacts = artefacts
        self.pages: list = []
        self.loaded: dict[str, None] = {}  # ordered set of URLs loaded
        self.checked: set[str] = set()
        self.requests: list[str] = []  # every URL the browser asked for, in order
        self.axe_runs = 0
        self.problems: list[str] = []
        self._reported = 0
        self._shots = 0
        self._scriptless: set[int] = set()  # ids of the pages opened without JavaScript
        self._companion = None  # where their documents are checked (see _axe_without_script)
        self._open_companion = None
        from axe_playwright_python.base import AXE_SCRIPT

        self._axe_script = AXE_SCRIPT
        if origin is not None:
            self.allow(origin)

    # Wiring
    def allow(self, origin: str, *, websocket: bool = True) -> None:
        """Accept requests to `origin` (the server under test). `websocket=False` for a server
        that cannot upgrade (pytest-django's WSGI live server): the failed handshake to `/ws/`
        that Chromium then logs is not an error of the page."""
        netloc = urlsplit(origin).netloc
        self.netlocs.add(netloc)
        if not websocket:
            self._netlocs_without_websocket.add(netloc)

    def watch_context(self, context) -> None:
        context.on("request", self._on_request)
        context.on("response", self._on_response)

    def watch_page(self, page, *, scripts: bool = True) -> None:
        self.pages.append(page)
        if not scripts:
            self._scriptless.add(id(page))
        page.on("load", self._on_load)
        page.on("console", self._on_console)
        page.on(
            "pageerror",
            lambda error: self.problems.append(f"erreur JavaScript sur {page.url} : {error}"),
        )
        page.on("websocket", lambda ws: self._check_url(ws.url, "websocket"))
        for name in self._NAVIGATIONS:
            setattr(page, name, self._wrap(page, getattr(page, name), after=True))
        for name in self._USES:
            setattr(page, name, self._wrap(page, getattr(page, name), after=False))

    def _wrap(self, page, method, *, after: bool):
        def wrapped(*args, **kwargs):
            self.check(page)
            result = method(*args, **kwargs)
            if after:
                self.check(page)
            return result

        wrapped.__name__ = method.__name__
        wrapped.__doc__ = method.__doc__
        return wrapped

    # Events (record only: no Playwright call may be made from an event handler)
    def _on_load(self, page) -> None:
        if page.url.startswith(("http://", "https://")):
            self.loaded.setdefault(_without_fragment(page.url), None)

    def _on_request(self, request) -> None:
        self.requests.append(request.url)
        self._check_url(request.url, request.resource_type)

    def _check_url(self, url: str, kind: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc not in self.netlocs:
            self.problems.append(f"requête vers un tiers ({kind}) : {url}")

    def _on_response(self, response) -> None:
        if response.status >= 500:
            self.problems.append(f"erreur serveur {response.status} : {response.url}")

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        # pytest-django's live server speaks WSGI only: the pages' websocket (Channels, /ws/)
        # cannot open there, and Chromium logs it. Pages must work without it anyway.
        for netloc in self._netlocs_without_websocket:
            if message.text.startswith(f"WebSocket connection to 'ws://{netloc}/ws/"):
                return
        self.problems.append(f"erreur dans la console du navigateur : {message.text}")

    # Checks
    def check(self, page) -> None:
        """Run axe-core on the page's current document unless it was already checked, save a
        screenshot; then raise for any problem not yet reported."""
        if not page.is_closed() and page.url.startswith(("http://", "https://")):
            for attempt in range(3):
                try:
                    self._check_document(page)
                    break
                except Exception as exc:  # the document changed under our feet: wait, retry
                    if attempt == 2 or not _is_navigation_race(exc):
                        raise
                    _unwrapped(page, "wait_for_load_state")("load")
        self.raise_new_problems()

    def recheck(self, page) -> None:
        """Check the page again though no new document was loaded: for a state the page reached
        by script (Swagger UI rendered, a dialog opened, a live region announced something)."""
        if not page.is_closed():
            page.evaluate(f"() => {{ delete window.{self._MARK}; }}")
        self.check(page)

    def _check_document(self, page) -> None:
        if page.evaluate(f"() => window.{self._MARK} === true"):
            return
        _unwrapped(page, "wait_for_load_state")("load")
        url = page.url
        if id(page) in self._scriptless:
            results = self._axe_without_script(page, url)
        else:
            if page.evaluate("() => typeof window.axe === 'undefined'"):
                page.evaluate(self._axe_script)
            results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        page.evaluate(f"() => {{ window.{self._MARK} = true; }}")
        self.axe_runs += 1
        self.checked.add(_without_fragment(url))
        self._screenshot(page, url)
        blocking = [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]
        if blocking:
            self.problems.append(format_violations(url, blocking))

    def _axe_without_script(self, page, url: str) -> dict:
        """axe-core needs JavaScript, which a page opened with `java_script_enabled=False`
        lacks: its document, as the server sent it and with every script removed (as the
        browser ignored them), is checked in a companion page that runs scripts. The `<base>`
        element makes its style sheets and images load from the server under test."""
        if self._companion is None or self._companion.is_closed():
            assert self._open_companion is not None, "pas de page compagne pour axe-core"
            self._companion = self._open_companion()
        html = _unwrapped(page, "content")()
        html = re.sub(r"<script\b[^>]*>.*?</script\s*>", "", html, flags=re.S | re.I)
        html = re.sub(r"<head([^>]*)>", rf'<head\1><base href="{url}">', html, count=1,
                      flags=re.I)
        self._companion.set_content(html, wait_until="load")
        self._companion.evaluate(self._axe_script)
        return self._companion.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})")

    def _screenshot(self, page, url: str) -> None:
        self._shots += 1
        path = urlsplit(url).path.strip("/") or "accueil"
        name = f"{self._shots:02d}-{re.sub(r'[^A-Za-z0-9]+', '-', path).strip('-')[:80]}.png"
        self.artefacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.artefacts / name), full_page=True)

    def raise_new_problems(self) -> None:
        new = self.problems[self._reported :]
        if new:
            self._reported = len(self.problems)
            raise AssertionError("\n\n".join(new))

    def take_problems(self) -> list[str]:
        """The problems found so far, forgotten afterwards (for tests of the harness itself)."""
        found, self.problems, self._reported = self.problems, [], 0
        return found

    def finish(self) -> None:
        """End of the test: check the pages still open, then demand that every URL loaded was
        checked (a page reached and left without the test looking at it is not checked)."""
        for page in self.pages:
            if not page.is_closed():
                self.check(page)
        unchecked = [url for url in self.loaded if url not in self.checked]
        if unchecked:
            raise AssertionError(
                "pages chargées mais jamais vérifiées par axe-core (la page a été quittée sans "
                "que le test ne l'utilise ; appelez page.title() ou page.get_by_…() dessus) :\n"
                + "\n".join(f"  {url}" for url in unchecked)
            )


def _unwrapped(page, name: str):
    """The page's own method, not the watch's wrapper around it (for the watch's own use)."""
    return getattr(type(page), name).__get__(page)


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def _is_navigation_race(exc: Exception) -> bool:
    text = str(exc)
    return (
        "Execution context was destroyed" in text
        or "navigat" in text.lower()
        or "Cannot find context" in text
    )


def format_violations(url: str, violations: list[dict]) -> str:
    """A readable account of axe-core violations: rule, impact, help link, elements."""
    lines = [
        f"axe-core : {len(violations)} règle(s) d'accessibilité enfreinte(s), impact "
        f"sérieux ou critique, sur {url}"
    ]
    for violation in violations:
        lines.append(
            f"  - [{violation['impact']}] {violation['id']} : {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            target = " ".join(map(str, node.get("target", [])))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"      {target}\n        {node.get('html', '')[:160]}\n        {summary}")
        if len(violation["nodes"]) > 5:
            lines.append(f"      … et {len(violation['nodes']) - 5} autre(s) élément(s)")
    return "\n".join(lines)


_WATCH = pytest.StashKey[PageWatch]()


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture
def browser(request):
    """The shared headless Chromium (see `SharedChromium`)."""
    config = request.config
    if _CHROMIUM not in config.stash:
        config.stash[_CHROMIUM] = SharedChromium()
    return config.stash[_CHROMIUM].get()


@pytest.fixture(scope="session")
def e2e_artefacts(request, tmp_path_factory) -> Path:
    chosen = os.environ.get("MAIRIE_E2E_ARTEFACTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("e2e-pages")
    request.config.stash[_ARTEFACTS] = folder
    return folder


@pytest.fixture
def page_watch(request, e2e_artefacts):
    """The watch over every page the test opens (see `PageWatch`)."""
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.nodeid.split("/")[-1])[:120]
    watch = PageWatch(artefacts=e2e_artefacts / test_name)
    request.node.stash[_WATCH] = watch
    yield watch
    unreported = watch.problems[watch._reported :]
    if unreported:  # the test failed on something else first: still tell what the watch saw
        print("Problèmes relevés sur les pages avant l'échec :\n" + "\n\n".join(unreported))


@pytest.fixture
def new_page(browser, page_watch, live_server):
    """`new_page(origin=None, user=None, **context_options)`: a page in a fresh browser (own
    cookies), watched like `page`. With `java_script_enabled=False` the page runs no script
    (a resident without JavaScript); axe-core still checks each of its documents, in a
    companion page (see `PageWatch._axe_without_script`).

    `origin` is the server under test, pytest-django's `live_server` by default (e.g.
    `http://localhost:8123` for a uvicorn server the test started); relative URLs resolve
    against it and requests to any other origin fail the test. With `user`, the browser
    starts logged in as that user (a session cookie, no login form), for tests whose subject
    is not logging in.

    `live_server` is required even when another origin is given: pytest-django gives the test
    a transactional database only when `live_server` is among its fixtures, and a server in
    another thread sees nothing of a test's data otherwise.
    """
    contexts = []

    def open_page(*, origin: str | None = None, user=None, **context_options):
        if origin is None:
            origin = live_server.url
            page_watch.allow(origin, websocket=False)
        else:
            page_watch.allow(origin)
        options = {
            "base_url": origin,
            "locale": "fr-FR",
            "timezone_id": "Europe/Paris",
            "viewport": {"width": 1280, "height": 900},
        }
        options.update(context_options)
        context = browser.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        page_watch.watch_context(context)
        if user is not None:
            context.add_cookies([_session_cookie(user, origin)])
        opened = context.new_page()
        scripts = context_options.get("java_script_enabled", True)
        if not scripts and page_watch._open_companion is None:
            page_watch._open_companion = lambda: _companion_page(browser, contexts)
        page_watch.watch_page(opened, scripts=scripts)
        return opened

    yield open_page
    for context in contexts:
        context.close()


def _companion_page(browser, contexts: list):
    """A page that runs scripts, unwatched, where axe-core checks the documents of the pages
    opened without JavaScript. Its requests go to the server under test only (the `<base>`)."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    contexts.append(context)
    return context.new_page()


def _session_cookie(user, origin: str) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": origin}


@pytest.fixture
def page(new_page, organisation):
    """A watched page on the live server of the default organisation (host `localhost`)."""
    return new_page()
