"""In Chromium: Swagger UI runs under our CSP and calls nobody but us; the token pages pass
axe-core (no serious or critical violation) in every state a user meets.

The harness (`tests/browser.py`) checks every page these tests load with axe-core and fails
them on any request to another host, any console error (a CSP refusal is one) and any 5xx.
"""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_under_the_csp_without_third_party_requests(page, page_watch,
                                                                       live_server):
    page.goto("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    page.wait_for_selector("text=/api/v1/services/", timeout=15000)
    assert "Mairie API" in page.inner_text(".swagger-ui .info .title")
    page_watch.recheck(page)  # the rendered documentation, not the empty container at load

    operation = page.locator(".opblock-summary-control").first
    operation.click()  # an operation unfolded: parameters, responses, examples
    page.wait_for_selector(".opblock-body .responses-wrapper", timeout=5000)
    assert operation.get_attribute("aria-expanded") == "true"
    page_watch.recheck(page)

    page.click("button.authorize")
    page.wait_for_selector("text=jetonPersonnel", timeout=5000)
    page_watch.recheck(page)  # the authorisation dialog
    assert page.get_by_role("button", name="Fermer").count() == 1  # named by api/docs.js

    assert page_watch.problems == []  # a CSP refusal is a console error
    server = urlsplit(live_server.url).netloc
    assert [url for url in page_watch.requests if urlsplit(url).netloc != server] == []
    assert any(url.endswith("/api/v1/schema/") for url in page_watch.requests)


def test_the_token_pages_are_accessible_in_every_state(new_page, page_watch, live_server,
                                                       resident, make_token):
    make_token(resident, name="Ancien script")
    page = new_page(user=resident)
    page.goto("/mon-compte/jetons/")
    page_watch.check(page)  # axe-core: no serious or critical violation

    page.click("text=Créer le jeton")  # empty form: the error summary
    page.wait_for_selector("#error-summary")
    page_watch.check(page)

    page.fill("#id_name", "Tableur du budget")
    page.get_by_label("Lecture read").check()
    page.click("text=Créer le jeton")
    page.wait_for_selector("#new-token-key")
    raw_key = page.input_value("#new-token-key")
    assert raw_key.startswith("mtk_")
    page_watch.check(page)

    page.click("button:has-text('Révoquer Ancien script')")
    page.wait_for_selector("text=est révoqué")
    assert raw_key not in page.content()
    page_watch.check(page)
    assert page_watch.axe_runs >= 4  # the list, the errors, the new key, the revocation
    assert page_watch.problems == []
    server = urlsplit(live_server.url).netloc
    assert [url for url in page_watch.requests if urlsplit(url).netloc != server] == []
