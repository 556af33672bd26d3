"""The technical administration lists and edits the kernel's models; the audit log is read-only."""

import pytest

from mairie.core.audit.models import AuditEvent
from mairie.core.audit.services import record_event
from mairie.core.factories import enrol_totp
from mairie.core.organisation.models import Membership


@pytest.fixture
def operator(client, django_user_model, organisation):
    user = django_user_model.objects.create_superuser("ops@example.org", "x" * 12)
    enrol_totp(user)  # the technical administration requires a second factor
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_every_kernel_model_has_working_admin_pages(client, operator, organisation, agent,
                                                    service):
    membership = Membership.objects.get(user=agent)
    for url in ["/admin/users/user/", "/admin/users/user/add/",
                f"/admin/users/user/{agent.pk}/change/",
                "/admin/tenancy/organisation/",
                f"/admin/tenancy/organisation/{organisation.pk}/change/",
                "/admin/organisation/service/",
                f"/admin/organisation/service/{service.pk}/change/",
                "/admin/organisation/membership/",
                f"/admin/organisation/membership/{membership.pk}/change/",
                "/admin/audit/auditevent/", "/admin/users/user/?q=agent"]:
        response = client.get(url)
        assert response.status_code == 200, url
    hosts = client.get(f"/admin/tenancy/organisation/{organisation.pk}/change/").text
    assert 'value="testserver"' in hosts  # host names edited inline


@pytest.mark.django_db
def test_admin_creates_a_user_by_email(client, operator, organisation, django_user_model):
    response = client.post("/admin/users/user/add/", {
        "email": "nouveau@valmont.example", "organisation": str(organisation.pk),
        "usable_password": "true", "password1": "un-mot-de-passe-long-42",
        "password2": "un-mot-de-passe-long-42"})
    assert response.status_code == 302
    user = django_user_model.objects.get(email="nouveau@valmont.example")
    assert user.organisation == organisation and user.check_password("un-mot-de-passe-long-42")


@pytest.mark.django_db
def test_audit_events_cannot_be_added_changed_or_deleted(client, operator, organisation):
    event = record_event(organisation=organisation, action="test.admin")
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="action"' not in page.text  # shown, not editable
    assert client.post(f"/admin/audit/auditevent/{event.pk}/change/",
                       {"action": "forged"}).status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "test.admin"


@pytest.mark.django_db
def test_an_agent_is_kept_out_of_the_technical_admin(client, administrator):
    client.force_login(administrator)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
