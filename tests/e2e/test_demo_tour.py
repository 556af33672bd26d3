"""Journey: what a tester does first on `make demo` — the documented accounts work, and the
populated pages (portal, chart of 25 agents) pass the same checks as every other page."""

import io

from django.core.management import call_command
from playwright.sync_api import expect

from mairie.core.demo import data

from .steps import log_in


def test_the_demo_administrator_tours_the_chart_of_the_demo_commune(page, live_server):
    call_command("demo", stdout=io.StringIO())

    page.goto("/")
    expect(page.get_by_role("banner")).to_contain_text("Commune de Valmont")
    expect(page.get_by_role("main")).to_contain_text(data.ORGANISATION["phone"])

    log_in(
        page,
        email="dsi@valmont.example",
        password=data.DEMO_PASSWORD,
        totp_secret=data.DEMO_TOTP_SECRET,
    )
    page.wait_for_url(f"{live_server.url}/agent/")
    expect(page.get_by_role("main")).to_contain_text("Numérique")
    expect(page.get_by_role("main")).to_contain_text("Administrateur")

    page.get_by_role("link", name="Services et agents").first.click()
    page.wait_for_url("**/agent/organisation/")
    for spec in data.SERVICES:
        expect(page.get_by_role("link", name=spec.name, exact=True)).to_be_visible()
    expect(page.get_by_role("list", name="Agents du service Direction générale")).to_contain_text(
        "Direction (DGS, secrétaire communal)"
    )


def test_a_demo_resident_logs_in_without_a_second_factor(page, live_server):
    call_command("demo", stdout=io.StringIO())
    log_in(page, email=data.RESIDENT_FIXED_EMAIL, password=data.DEMO_PASSWORD)
    page.wait_for_url(f"{live_server.url}/mon-compte/")
    expect(page.get_by_role("main")).to_contain_text(data.RESIDENT_FIXED_EMAIL)
