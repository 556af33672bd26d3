"""In Chromium: a mediator records a mandate with e-mail consent (the code the resident
received), the resident later signs in, reads the mandate and its journal, and revokes it; the
mediator's page then says it is revoked. Every page passes axe-core."""

import re

import pytest
from django.core import mail

from mairie.core.factories import UserFactory, agent_factory
from mairie.core.organisation.models import Role
from mairie.crm import services
from mairie.crm.models import Mandate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_mandate_with_email_consent_then_revoked_by_the_resident(
        new_page, page_watch, live_server, organisation, service):
    mediator = agent_factory(service=service, role=Role.MEDIATOR,
                             email="aidant@valmont.example")
    account = UserFactory(organisation=organisation, email="josiane@example.org",
                          first_name="Josiane", last_name="Bréval")
    record = services.record_for_account(account)
    page = new_page(user=mediator)
    page.goto(f"/agent/usagers/{record.pk}/")
    page.get_by_role("link", name="Mandats").click()
    page_watch.check(page)
    page.check("text=Papiers et citoyenneté")
    page.check("text=Famille et scolarité")
    page.check("text=1 mois")
    page.check("text=Par un code envoyé à son adresse de courriel")
    page.get_by_role("button", name="Créer le mandat").click()
    page.wait_for_selector("text=En attente du consentement")
    page_watch.check(page)
    code = re.search(r"code : (\d{6})", mail.outbox[-1].body).group(1)
    page.fill("[name=code]", code)
    page.get_by_role("button", name="Valider le code").click()
    page.wait_for_selector("text=le mandat est actif")
    assert "Actif" in page.inner_text("main")
    page_watch.check(page)

    resident = new_page(user=account)
    resident.goto("/mon-compte/")
    resident.get_by_role("link", name="Mes mandats (aidants)").click()
    assert "Consentement donné par code reçu par courriel" in resident.inner_text("main")
    page_watch.check(resident)
    resident.get_by_role("button", name=re.compile("Révoquer le mandat")).click()
    resident.wait_for_selector("text=l'aidant ne peut plus agir pour vous")
    page_watch.check(resident)

    page.reload()
    assert "Révoqué" in page.inner_text("main")
    assert Mandate.objects.get().state == "revoked"
    assert page_watch.problems == []


def test_a_mediator_follows_a_dossier_under_the_mandate_until_it_is_revoked(
        new_page, page_watch, live_server, organisation, service, other_service,
        django_capture_on_commit_callbacks):
    """The mediator works outside the processing service: the person's own online dossier is
    reachable only through her mandate, read-only, and each opening goes to the journal."""
    from mairie.crm import services_mandates
    from mairie.procedures.tests.automation_helpers import make_civil_procedure, submit

    mediator = agent_factory(service=other_service, role=Role.MEDIATOR,
                             email="france-services@valmont.example")
    account = UserFactory(organisation=organisation, email="josiane@example.org",
                          first_name="Josiane", last_name="Bréval")
    record = services.record_for_account(account)
    civil = make_civil_procedure(organisation, service)
    civil.mandate_domain = "papers"
    civil.save()
    dossier = submit(civil, account, nom="Bréval")
    with django_capture_on_commit_callbacks(execute=True):
        mandate = services_mandates.create_mandate(
            actor=mediator, record=record, domains=["papers"], duration="month",
            consent_method="email")
    code = re.search(r"code : (\d{6})", mail.outbox[-1].body).group(1)
    services_mandates.confirm_code(actor=mediator, mandate=mandate, code=code)

    page = new_page(user=mediator)
    page.goto(f"/agent/usagers/{record.pk}/")
    page.get_by_role("link", name=re.compile(f"n° {dossier.number}")).first.click()
    page.wait_for_selector(f"h1:has-text('Dossier n° {dossier.number}')")
    assert "sous son mandat" in page.inner_text("main")
    page_watch.check(page)
    assert mandate.uses.last().label.startswith(f"Dossier n° {dossier.number} consulté")

    services_mandates.revoke(actor=account, mandate=mandate)
    page.goto(f"/agent/usagers/{record.pk}/")
    assert dossier.number not in page.inner_text("main")
    page_watch.check(page)
    assert page_watch.problems == []
