"""Journey: a resident opens an account on the portal, confirms their address from the e-mail,
logs in, switches the interface to English and logs out."""

import re

from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from .steps import submit

EMAIL = "lea.martin@example.org"
PASSWORD = "Tournesol-Lavande-2026"


def test_a_resident_signs_up_confirms_logs_in_switches_to_english_and_logs_out(
    page, new_page, organisation, live_server
):
    page.goto("/")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Créer un compte"
    ).click()
    page.wait_for_url("**/comptes/signup/")

    form = page.locator("form:has(input[name=password1])")
    form.get_by_label("Prénom").fill("Léa")
    form.get_by_label(re.compile(r"^Nom\b")).fill("Martin")
    form.locator("input[name=email]").fill(EMAIL)
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    submit(form)
    page.wait_for_url("**/comptes/confirm-email/")
    assert page.get_by_role("heading", level=1).count() == 1

    # The verification e-mail went to the address given, with a link to this site.
    assert [message.to for message in mail.outbox] == [[EMAIL]]
    link = re.search(r"https?://\S+/comptes/confirm-email/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    assert link.group(0).startswith(live_server.url)

    # She opens the link on her phone: another browser, no session yet.
    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(link.group(0))
    confirm_form = phone.locator(f"form[action$='{link.group(0)[len(live_server.url) :]}']")
    submit(confirm_form)
    phone.wait_for_url(lambda url: "/confirm-email/" not in url)

    user = get_user_model().objects.get(email=EMAIL)
    assert user.organisation == organisation
    assert user.emailaddress_set.get(email=EMAIL).verified

    # Back on the computer, she logs in with her new password.
    page.goto("/comptes/login/")
    login_form = page.locator("form:has(input[name=password])")
    login_form.locator("input[name=login]").fill(EMAIL)
    login_form.locator("input[name=password]").fill(PASSWORD)
    submit(login_form)
    page.wait_for_url("**/mon-compte/")
    assert page.get_by_text(EMAIL).count() >= 1

    # The language switch in the header turns the interface into English.
    switch = page.locator("form.language-switch")
    switch.get_by_label("Langue").select_option("en")
    submit(switch)
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    main_nav = page.get_by_role("navigation", name="Main menu")
    logout = main_nav.get_by_role("button", name="Log out")
    expect(logout).to_be_visible()

    logout.click()
    page.wait_for_url(f"{live_server.url}/")
    expect(
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Log in")
    ).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
