"""Changing one's e-mail address: the new one is confirmed by a link before it replaces the
old one, and the change is audited."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from mairie.core.audit.models import AuditEvent

from .html import Page

pytestmark = pytest.mark.django_db


def test_change_email_after_confirmation(client, organisation, resident):
    client.force_login(resident)
    old = resident.email
    response = client.post(reverse("account_email"),
                           {"action_add": "", "email": "nouvelle@example.org"})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.email == old  # nothing changes before the confirmation
    page = Page(client.get(reverse("account_email")).content.decode())
    assert "Changement en attente" in page.main_text and "nouvelle@example.org" in page.main_text

    assert mail.outbox[-1].to == ["nouvelle@example.org"]
    link = re.search(r"https?://[^/\s]+(/comptes/confirm-email/[^\s]+/)",
                     mail.outbox[-1].body).group(1)
    client.post(link)
    resident.refresh_from_db()
    assert resident.email == "nouvelle@example.org"
    assert list(EmailAddress.objects.filter(user=resident).values_list("email", flat=True)) \
        == ["nouvelle@example.org"]
    changed = AuditEvent.objects.get(organisation=organisation, actor=resident,
                                     action="account.email_changed")
    assert changed.details == {"from": old, "to": "nouvelle@example.org"}
    assert AuditEvent.objects.filter(action="account.email_added", actor=resident).exists()


def test_cancel_a_pending_change(client, resident):
    client.force_login(resident)
    client.post(reverse("account_email"), {"action_add": "", "email": "autre@example.org"})
    client.post(reverse("account_email"), {"action_remove": "", "email": "autre@example.org"})
    assert not EmailAddress.objects.filter(email="autre@example.org").exists()
    resident.refresh_from_db()
    assert resident.email == "habitant@example.org"


def test_an_address_taken_by_another_account_is_refused(client, resident, organisation):
    from mairie.core.factories import UserFactory

    UserFactory(organisation=organisation, email="prise@example.org")
    client.force_login(resident)
    client.post(reverse("account_email"), {"action_add": "", "email": "prise@example.org"})
    resident.refresh_from_db()
    assert resident.email == "habitant@example.org"
    assert not EmailAddress.objects.filter(user=resident, email="prise@example.org",
                                           verified=True).exists()


def test_email_page_requires_sign_in(client, organisation):
    response = client.get(reverse("account_email"))
    assert response.headers["Location"].startswith(reverse("account_login"))
