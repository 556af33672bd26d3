"""Journey: an administrator adds people to a service from the organisation chart
(/agent/organisation/) and sees them listed there with their role."""

from django.core import mail
from playwright.sync_api import expect

from mairie.core.factories import DEMO_TOTP_SECRET
from mairie.core.organisation.models import Membership, Role

from .steps import log_in, submit


def _open_add_member_form(page, service_name):
    page.get_by_role("navigation", name="Menu de l'espace agent").get_by_role(
        "link", name="Services et agents"
    ).click()
    page.wait_for_url("**/agent/organisation/")
    page.get_by_role("link", name=service_name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(service_name)
    page.get_by_role("link", name="Ajouter un agent").click()
    page.wait_for_url("**/ajouter-un-agent/")
    return page.locator("main form")


def test_an_administrator_gives_an_agent_a_role_in_another_service(
    page, administrator, agent, other_service, live_server
):
    log_in(page, email=administrator.email, totp_secret=DEMO_TOTP_SECRET)

    form = _open_add_member_form(page, "Urbanisme")
    form.get_by_label("Adresse électronique de l'agent").fill(agent.email)
    form.get_by_role("combobox", name="Rôle").select_option(Role.MANAGER.value)
    submit(form)

    page.wait_for_url(f"**/agent/organisation/services/{other_service.pk}/")
    row = page.get_by_role("row").filter(has_text=agent.email)
    expect(row).to_contain_text(agent.get_full_name())
    expect(row.get_by_role("cell").first).to_have_text("Chef de service")
    assert Membership.objects.filter(user=agent, service=other_service, role=Role.MANAGER).exists()

    # The chart shows them under the service, with the role.
    page.get_by_role("link", name="Services et agents").first.click()
    members = page.get_by_role("list", name="Agents du service Urbanisme")
    expect(members).to_contain_text(agent.get_full_name())
    expect(members).to_contain_text("Chef de service")


def test_an_administrator_invites_a_newcomer_who_is_listed_with_the_role(
    page, administrator, other_service, live_server
):
    log_in(page, email=administrator.email, totp_secret=DEMO_TOTP_SECRET)

    form = _open_add_member_form(page, "Urbanisme")
    form.get_by_label("Adresse électronique de l'agent").fill("nouvelle.recrue@valmont.example")
    form.get_by_role("combobox", name="Rôle").select_option(Role.AGENT.value)
    form.get_by_label("Prénom (nouveau compte)").fill("Inès")
    form.get_by_role("textbox", name="Nom (nouveau compte)", exact=True).fill("Garnier")
    submit(form)

    page.wait_for_url(f"**/agent/organisation/services/{other_service.pk}/")
    expect(page.get_by_role("main")).to_contain_text("nouvelle.recrue@valmont.example")
    row = page.get_by_role("row").filter(has_text="nouvelle.recrue@valmont.example")
    expect(row).to_contain_text("Inès Garnier")
    expect(row.get_by_role("cell").first).to_have_text("Agent")
    assert [m.to for m in mail.outbox] == [["nouvelle.recrue@valmont.example"]]
