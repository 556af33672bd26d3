"""In Chromium: Swagger UI runs under our CSP and calls nobody but us; the token pages pass
axe-core (no serious or critical violation) in every state a user meets."""

import os
import shutil

import pytest
from django.test import Client

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _chromium() -> str:
    path = os.environ.get("MAIRIE_CHROMIUM") or shutil.which("chromium")
    assert path, "Chromium is needed for the browser tests (apt-get install chromium)."
    return path


class Browser:
    """One Chromium page that records what would break our promises."""

    def __init__(self, playwright, origin: str):
        self.origin = origin
        self.browser = playwright.chromium.launch(executable_path=_chromium(),
                                                  args=["--no-sandbox", "--disable-gpu"])
        self.context = self.browser.new_context(locale="fr-FR")
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"JS: {error}"))
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def log_in(self, user) -> None:
        client = Client()
        client.force_login(user)
        self.context.add_cookies([{"name": "sessionid", "url": self.origin,
                                   "value": client.cookies["sessionid"].value}])

    def axe_violations(self) -> list[str]:
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        return [f"{v['id']} ({v['impact']}): {v['help']}" for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")]

    def third_party_requests(self) -> list[str]:
        return [url for url in self.requests
                if not url.startswith((self.origin, "data:", "blob:"))]

    def close(self) -> None:
        self.browser.close()


@pytest.fixture
def browser(live_server):
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright runs an event loop
    with sync_playwright() as playwright:
        opened = Browser(playwright, live_server.url)
        yield opened
        opened.close()


def test_swagger_ui_renders_under_the_csp_without_third_party_requests(browser, organisation):
    page = browser.page
    page.goto(f"{browser.origin}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    page.wait_for_selector("text=/api/v1/services/", timeout=15000)
    assert "Mairie API" in page.inner_text(".swagger-ui .info .title")
    page.click("button.authorize")
    page.wait_for_selector("text=jetonPersonnel", timeout=5000)
    assert browser.problems == []  # a CSP refusal is a console error
    assert browser.third_party_requests() == []
    assert any(url.endswith("/api/v1/schema/") for url in browser.requests)


def test_the_token_pages_are_accessible_in_every_state(browser, resident, make_token):
    make_token(resident, name="Ancien script")
    browser.log_in(resident)
    page = browser.page
    page.goto(f"{browser.origin}/mon-compte/jetons/")
    assert browser.axe_violations() == []

    page.click("text=Créer le jeton")  # empty form: the error summary
    page.wait_for_selector("#error-summary")
    assert browser.axe_violations() == []

    page.fill("#id_name", "Tableur du budget")
    page.get_by_label("Lecture read").check()
    page.click("text=Créer le jeton")
    page.wait_for_selector("#new-token-key")
    raw_key = page.input_value("#new-token-key")
    assert raw_key.startswith("mtk_")
    assert browser.axe_violations() == []

    page.click("button:has-text('Révoquer Ancien script')")
    page.wait_for_selector("text=est révoqué")
    assert raw_key not in page.content()
    assert browser.axe_violations() == []
    assert browser.problems == []
    assert browser.third_party_requests() == []
