"""Journey: an agent logs in with their password and their authenticator app's code, and lands
in the workspace showing the services they work in and their role in each."""

from urllib.parse import urlsplit

from playwright.sync_api import expect

from mairie.core.factories import DEFAULT_PASSWORD, DEMO_TOTP_SECRET, MembershipFactory
from mairie.core.organisation.models import Role

from .steps import fresh_totp_code, submit


def test_an_agent_logs_in_with_password_and_totp_and_sees_services_and_roles(
    page, agent, service, other_service, live_server
):
    MembershipFactory(user=agent, service=other_service, role=Role.MANAGER)

    page.goto("/agent/")
    page.wait_for_url("**/comptes/login/**")  # the workspace asks who you are first
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=login]").fill(agent.email)
    form.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    submit(form)

    page.wait_for_url("**/2fa/authenticate/**")
    code_form = page.locator("form:has(input[name=code])")
    code_form.locator("input[name=code]").fill(fresh_totp_code(DEMO_TOTP_SECRET))
    submit(code_form)

    page.wait_for_url(f"{live_server.url}/agent/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(agent.first_name)
    roles = page.get_by_role("region", name="Mes services et rôles")
    expect(roles).to_contain_text("Accueil et état civil")
    expect(roles).to_contain_text("Agent")
    expect(roles).to_contain_text("Urbanisme")
    expect(roles).to_contain_text("Chef de service")


def test_a_wrong_code_keeps_the_agent_out_of_the_workspace(page, agent, live_server):
    page.goto("/agent/")
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=login]").fill(agent.email)
    form.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    submit(form)
    page.wait_for_url("**/2fa/authenticate/**")
    code_form = page.locator("form:has(input[name=code])")
    wrong = f"{(int(fresh_totp_code(DEMO_TOTP_SECRET)) + 1) % 1_000_000:06d}"
    code_form.locator("input[name=code]").fill(wrong)
    submit(code_form)
    expect(page.locator("form:has(input[name=code])")).to_contain_text("Code incorrect")
    assert "/2fa/authenticate/" in page.url
    # The workspace stays closed: the login is still waiting for a good code.
    page.goto("/agent/")
    assert urlsplit(page.url).path.startswith("/comptes/")
    expect(page.locator("input[name=code], input[name=password]").first).to_be_visible()
