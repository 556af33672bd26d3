"""The webhooks page of a procedure: configure, read the delivery log, ping, re-send — for
those who design the procedure only."""

import json

import pytest
from django.test import override_settings

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures import processing, webhooks
from mairie.procedures.models import WebhookDelivery, WebhookEndpoint

from .api_helpers import (
    Receiver,
    file_dossier,
    make_api_procedure,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure(organisation, service, administrator):
    return make_api_procedure(organisation, service, actor=administrator)


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def endpoint(administrator, procedure, receiver):
    return webhooks.save_endpoint(actor=administrator, definition=procedure, url=receiver.url,
                                  events=["message"], description="Outil du service")


def url(procedure, suffix=""):
    return f"/agent/demarches/{procedure.slug}/webhooks/{suffix}"


def test_an_administrator_adds_a_webhook(client, administrator, procedure, receiver):
    client.force_login(administrator)
    response = client.get(url(procedure))
    assert response.status_code == 200
    assert "Aucun webhook pour l'instant." in response.content.decode()
    response = client.post(url(procedure), {"new-url": receiver.url,
                                            "new-events": ["submitted", "transition"],
                                            "new-active": "on"})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.events) == (receiver.url, ["submitted", "transition"])
    assert endpoint.secret.startswith("whsec_")
    assert AuditEvent.objects.filter(action="procedures.webhook_created").exists()
    page = client.get(url(procedure)).content.decode()
    assert endpoint.secret in page and receiver.url in page


def test_bad_input_is_shown_next_to_the_field_and_kept(client, administrator, procedure):
    client.force_login(administrator)
    response = client.post(url(procedure), {"new-url": "pas une adresse"})
    assert response.status_code == 200  # the page again, with the errors
    page = response.content.decode()
    assert "<title>Erreur — Webhooks" in page
    assert "Choisissez au moins un événement." in page
    assert "pas une adresse" in page
    with override_settings(MAIRIE_WEBHOOKS_ALLOW_PRIVATE=False):
        response = client.post(url(procedure), {"new-url": "http://127.0.0.1:9/hook",
                                                "new-events": ["submitted"]})
    assert response.status_code == 200  # the page again, with the errors
    assert "réseau privé" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_test_ping_reaches_the_receiver_and_the_log(client, administrator, procedure,
                                                        endpoint, receiver,
                                                        django_capture_on_commit_callbacks):
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(procedure, f"{endpoint.pk}/"), {"action": "ping"})
    assert response.status_code == 302
    assert [json.loads(r["body"])["event"] for r in receiver.requests] == ["ping"]
    page = client.get(url(procedure)).content.decode()
    assert "Remis" in page and "ping" in page


def test_the_log_shows_deliveries_and_one_is_re_sent_with_a_new_id(
        client, administrator, agent, procedure, endpoint, receiver, resident,
        django_capture_on_commit_callbacks):
    dossier = file_dossier(procedure, resident, number="2026-000001")
    receiver.answers.put(500)
    with django_capture_on_commit_callbacks(execute=True):
        processing.send_agent_message(actor=agent, dossier=dossier, body="Bonjour")
    delivery = WebhookDelivery.objects.get()
    client.force_login(administrator)
    page = client.get(url(procedure)).content.decode()
    assert "Réponse HTTP 500." in page and "En attente" in page
    detail = client.get(url(procedure, f"envois/{delivery.pk}/"))
    assert detail.status_code == 200
    assert str(delivery.pk) in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(procedure, f"envois/{delivery.pk}/renvoyer/"))
    assert response.status_code == 302
    copy = WebhookDelivery.objects.get(resent_from=delivery)
    assert copy.status == "delivered" and copy.payload == delivery.payload
    ids = [r["headers"]["X-Mairie-Delivery"] for r in receiver.requests]
    assert ids == [str(delivery.pk), str(copy.pk)]


def test_editing_and_deleting_an_endpoint(client, administrator, procedure, endpoint):
    client.force_login(administrator)
    prefix = f"e-{endpoint.pk}"
    response = client.post(url(procedure, f"{endpoint.pk}/"), {
        "action": "save", f"{prefix}-url": endpoint.url, f"{prefix}-events": ["*"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["*"] and endpoint.active is False  # unchecked: suspended
    response = client.post(url(procedure, f"{endpoint.pk}/"), {
        "action": "save", f"{prefix}-url": "", f"{prefix}-events": ["*"]})
    assert response.status_code == 200  # the page again, with the errors
    assert "Indiquez l&#x27;adresse de réception." in response.content.decode()
    client.post(url(procedure, f"{endpoint.pk}/"), {"action": "delete"})
    assert not WebhookEndpoint.objects.exists()


def test_a_manager_of_the_owning_service_may_configure(client, service, procedure):
    manager = agent_factory(service=service, role=Role.MANAGER, email="chef@v.example")
    client.force_login(manager)
    assert client.get(url(procedure)).status_code == 200


def test_others_get_404_or_403(client, agent, other_service, resident, foreign_agent,
                               procedure, endpoint):
    delivery_url = url(procedure, f"{endpoint.pk}/")
    manager_elsewhere = agent_factory(service=other_service, role=Role.MANAGER,
                                      email="chef.urba@v.example")
    for user in (agent, manager_elsewhere):  # process or manage, but do not design it
        client.force_login(user)
        assert client.get(url(procedure)).status_code == 404
        assert client.post(delivery_url, {"action": "ping"}).status_code == 404
    client.force_login(foreign_agent)
    assert client.get(url(procedure), HTTP_HOST="autre.localhost").status_code == 404
    client.force_login(resident)
    assert client.get(url(procedure)).status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_the_log_page_costs_a_fixed_number_of_queries(client, administrator, procedure,
                                                      endpoint,
                                                      django_assert_max_num_queries):
    client.force_login(administrator)
    client.get(url(procedure))
    WebhookDelivery.objects.create(organisation=procedure.organisation, endpoint=endpoint,
                                   event="ping", payload={})
    with django_assert_max_num_queries(20) as few:
        client.get(url(procedure))
    for _ in range(30):
        WebhookDelivery.objects.create(organisation=procedure.organisation,
                                       endpoint=endpoint, event="ping", payload={})
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url(procedure))
    assert response.status_code == 200
