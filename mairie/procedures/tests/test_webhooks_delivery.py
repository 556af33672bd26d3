"""Webhooks against a real HTTP server started by the test: the signed POST, retries with
back-off after a failure, disabling after repeated failures with a notice, SSRF refusals."""

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.notifications.models import Notification
from mairie.procedures import processing, tasks_api, webhooks, workflow
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
def dossier(procedure, resident):
    return file_dossier(procedure, resident, number="2026-000001")


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def endpoint(administrator, procedure, receiver):
    return webhooks.save_endpoint(actor=administrator, definition=procedure, url=receiver.url,
                                  events=["transition", "message"])


def accept(agent, dossier, capture):
    with capture(execute=True):
        workflow.apply_transition(actor=agent, dossier=dossier, key="accepter", values={},
                                  lock_version=dossier.lock_version)


def time_passes():
    """As if the back-off delay had elapsed: the deliveries waiting are due now."""
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    tasks_api.deliver_due_webhooks.delay()


def test_a_transition_is_posted_signed_to_the_receiver(agent, dossier, endpoint, receiver,
                                                       django_capture_on_commit_callbacks):
    accept(agent, dossier, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/mairie/hook"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    # The receiver's check, as documented in docs/api-procedures.md.
    parts = dict(item.split("=", 1) for item in headers["X-Mairie-Signature"].split(","))
    timestamp = int(parts["t"])
    assert abs(time.time() - timestamp) < 300
    expected = hmac.new(endpoint.secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    document = json.loads(body)
    assert document["id"] == headers["X-Mairie-Delivery"]
    assert document["event"] == headers["X-Mairie-Event"] == "transition"
    assert document["dossier"]["number"] == "2026-000001"
    assert document["dossier"]["state"] == "accepte"
    assert document["dossier"]["url"] == f"http://testserver/api/v1/dossiers/{dossier.pk}/"
    details = document["timeline_event"]["details"]
    assert (details["from"], details["to"], details["key"]) == ("depose", "accepte",
                                                               "accepter")
    assert "Martin" not in body.decode()  # no answers leave the server
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.status_code, delivery.attempts) == ("delivered", 200, 1)
    assert '"received": true' in delivery.response_excerpt


def test_a_wrong_secret_does_not_verify(agent, dossier, endpoint, receiver,
                                        django_capture_on_commit_callbacks):
    accept(agent, dossier, django_capture_on_commit_callbacks)
    request = receiver.requests[0]
    parts = dict(item.split("=", 1) for item in
                 request["headers"]["X-Mairie-Signature"].split(","))
    forged = hmac.new(b"whsec_autre", f"{parts['t']}.".encode() + request["body"],
                      hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(parts["v1"], forged)


def test_only_subscribed_events_of_the_procedure_are_sent(agent, administrator, dossier,
                                                          endpoint, receiver, organisation,
                                                          service,
                                                          django_capture_on_commit_callbacks):
    other = make_api_procedure(organisation, service, actor=administrator, slug="autre")
    other_dossier = file_dossier(other, None, number="2026-000009", email="x@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        processing.annotate(actor=agent, dossier=dossier, body="Privé")  # not subscribed
        processing.send_agent_message(actor=agent, dossier=other_dossier, body="Autre")
        processing.send_agent_message(actor=agent, dossier=dossier, body="Bonjour")
    assert [json.loads(r["body"])["event"] for r in receiver.requests] == ["message"]
    assert "Bonjour" not in receiver.requests[0]["body"].decode()


def test_a_500_is_retried_later_then_delivered(agent, dossier, endpoint, receiver,
                                               django_capture_on_commit_callbacks):
    receiver.answers.put(500)
    accept(agent, dossier, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.status_code, delivery.attempts) == ("pending", 500, 1)
    assert delivery.error == "Réponse HTTP 500."
    wait = delivery.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=50) < wait <= dt.timedelta(seconds=60)  # first back-off: 1 min
    tasks_api.deliver_due_webhooks.delay()  # not due yet: nothing is sent
    assert len(receiver.requests) == 1

    time_passes()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.status_code, delivery.attempts) == ("delivered", 200, 2)
    assert len(receiver.requests) == 2
    first, second = (r["headers"] for r in receiver.requests)
    assert first["X-Mairie-Delivery"] == second["X-Mairie-Delivery"]  # the same delivery
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.active


def test_the_back_off_grows_and_the_delivery_finally_fails(agent, dossier, endpoint,
                                                           receiver,
                                                           django_capture_on_commit_callbacks):
    for _ in range(10):
        receiver.answers.put(503)
    accept(agent, dossier, django_capture_on_commit_callbacks)
    waits = []
    for _ in range(len(webhooks.RETRY_DELAYS)):
        delivery = WebhookDelivery.objects.get()
        waits.append(round((delivery.next_attempt_at - timezone.now()).total_seconds() / 60))
        time_passes()
    assert waits == [1, 5, 25, 120, 600]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 6, None)


@override_settings(MAIRIE_WEBHOOKS_MAX_FAILURES=3)
def test_an_endpoint_failing_again_and_again_is_disabled_with_a_notice(
        agent, administrator, dossier, endpoint, receiver, resident, procedure,
        django_capture_on_commit_callbacks):
    for _ in range(10):
        receiver.answers.put(500)
    accept(agent, dossier, django_capture_on_commit_callbacks)
    time_passes()
    time_passes()
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_at is not None
    assert endpoint.consecutive_failures == 3
    assert len(receiver.requests) == 3
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "désactivé" in delivery.error
    notice = Notification.objects.get(kind=webhooks.NOTIFICATION_KIND)
    assert notice.recipient == administrator  # a designer of the procedure, not the agent
    assert procedure.title in notice.title
    assert notice.url == f"/agent/demarches/{procedure.slug}/webhooks/"
    audit = AuditEvent.objects.get(action="procedures.webhook_disabled")
    assert audit.actor is None and audit.details["system"] is True
    # Nothing more is sent to a disabled endpoint.
    other = file_dossier(procedure, resident, number="2026-000002")
    with django_capture_on_commit_callbacks(execute=True):
        processing.send_agent_message(actor=agent, dossier=other, body="Bonjour")
    assert WebhookDelivery.objects.count() == 1 and len(receiver.requests) == 3
    # Re-activating starts again from zero.
    webhooks.save_endpoint(actor=administrator, definition=procedure, endpoint=endpoint,
                           url=endpoint.url, events=endpoint.events, active=True)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 0


def test_a_receiver_that_is_down_is_logged_and_retried(agent, administrator, dossier,
                                                       procedure,
                                                       django_capture_on_commit_callbacks):
    with Receiver() as gone:
        url = gone.url
    webhooks.save_endpoint(actor=administrator, definition=procedure, url=url,
                           events=["*"])
    accept(agent, dossier, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.status_code is None
    assert "Échec de la connexion" in delivery.error


def test_a_delivery_is_sent_once_even_if_queued_twice(agent, dossier, endpoint, receiver,
                                                      django_capture_on_commit_callbacks):
    accept(agent, dossier, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert tasks_api.deliver_webhook.delay(str(delivery.pk)).get() is None
    tasks_api.deliver_due_webhooks.delay()
    assert len(receiver.requests) == 1


def test_drafts_send_nothing(procedure, resident, endpoint, receiver, administrator,
                             django_capture_on_commit_callbacks):
    from mairie.procedures.services import start_dossier

    webhooks.save_endpoint(actor=administrator, definition=procedure, endpoint=endpoint,
                           url=endpoint.url, events=["*"])
    with django_capture_on_commit_callbacks(execute=True):
        start_dossier(actor_or_none=resident, definition=procedure)
    assert not WebhookDelivery.objects.exists() and receiver.requests == []


# --- Private addresses (SSRF) ------------------------------------------------------------------


@override_settings(MAIRIE_WEBHOOKS_ALLOW_PRIVATE=False)
@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://localhost/hook",
                                 "http://10.0.0.7/hook", "http://192.168.1.1/",
                                 "http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]/hook", "ftp://example.org/hook"])
def test_private_addresses_are_refused_by_default(administrator, procedure, url):
    with pytest.raises(ValidationError) as refused:
        webhooks.save_endpoint(actor=administrator, definition=procedure, url=url,
                               events=["submitted"])
    assert "url" in refused.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_now_resolves_privately_is_not_called(agent, dossier, endpoint, receiver,
                                                          django_capture_on_commit_callbacks):
    with override_settings(MAIRIE_WEBHOOKS_ALLOW_PRIVATE=False):
        accept(agent, dossier, django_capture_on_commit_callbacks)
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert "réseau privé" in delivery.error and delivery.status == "pending"


def test_only_designers_configure_webhooks(agent, procedure):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        webhooks.save_endpoint(actor=agent, definition=procedure, url="https://example.org/",
                               events=["submitted"])


def test_the_documented_receiver_check_accepts_once_and_refuses_replays(
        agent, dossier, endpoint, receiver, django_capture_on_commit_callbacks):
    """The Python example of docs/api-procedures.md, run as written on a real delivery."""
    import re
    from pathlib import Path

    from django.conf import settings

    text = (Path(settings.BASE_DIR) / "docs" / "api-procedures.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(code.replace('b"whsec_…"', repr(endpoint.secret.encode())), namespace)  # noqa: S102
    accept(agent, dossier, django_capture_on_commit_callbacks)
    request = receiver.requests[0]
    assert namespace["verify"](request["headers"], request["body"]) is True
    assert namespace["verify"](request["headers"], request["body"]) is False  # a replay
    tampered = request["body"].replace(b"accepte", b"refuse_")
    namespace["seen"].clear()
    assert namespace["verify"](request["headers"], tampered) is False
    old = dict(request["headers"])
    old["X-Mairie-Signature"] = re.sub(r"t=\d+", f"t={int(time.time()) - 301}",
                                       old["X-Mairie-Signature"])
    assert namespace["verify"](old, request["body"]) is False
