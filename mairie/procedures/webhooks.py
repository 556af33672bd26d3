"""Webhooks of procedures: configuring endpoints, turning dossier events into deliveries, and
POSTing them signed, with retries, a log, and disabling after repeated failure.

One hook: a `post_save` receiver on `DossierEvent` (every timeline line, whoever writes it:
filing, workflow engine, processing, automation) creates the deliveries in the event's own
transaction, and the POSTs are queued once it commits. The delivery rows are the outbox: a
message lost by the broker, or a worker killed mid-send, is picked up again by the periodic
sweep (`deliver_due`). Receivers de-duplicate by `X-Mairie-Delivery` (docs/api-procedures.md).

Signature: `X-Mairie-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
Addresses: only public IP addresses are called unless `MAIRIE_WEBHOOKS_ALLOW_PRIVATE` (SSRF);
the address is checked when the endpoint is saved and again, pinned, at each send.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Iterable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mairie.core.audit.services import record_event
from mairie.core.bulk import insert_all

from .models import DossierEvent, ProcedureDefinition, WebhookDelivery, WebhookEndpoint
from .rules import may_design

NOTIFICATION_KIND = "procedures.webhook_disabled"
SIGNATURE_HEADER = "X-Mairie-Signature"
DELIVERY_HEADER = "X-Mairie-Delivery"
EVENT_HEADER = "X-Mairie-Event"
# Back-off after the 1st, 2nd… failed attempt; after the last one the delivery has failed.
RETRY_DELAYS = (60, 5 * 60, 25 * 60, 2 * 3600, 10 * 3600)
TIMEOUT_SECONDS = 10
EXCERPT_CHARS = 500
CLAIM_TIMEOUT = dt.timedelta(minutes=10)
PING = "ping"

# Timeline kinds an endpoint may subscribe to ("*" = all, including kinds added later).
EVENT_CHOICES = [
    ("submitted", gettext_lazy("Dossier déposé")),
    ("transition", gettext_lazy("Étape franchie (changement d'état)")),
    ("state_entered", gettext_lazy("Changement d'état sans étape (retour de corrections…)")),
    ("validation", gettext_lazy("Validation ou signature")),
    ("message", gettext_lazy("Message (du demandeur ou du service)")),
    ("correction_requested", gettext_lazy("Corrections demandées au demandeur")),
    ("correction_answered", gettext_lazy("Corrections apportées par le demandeur")),
    ("opinion_requested", gettext_lazy("Avis demandé à un service")),
    ("opinion_given", gettext_lazy("Avis rendu")),
    ("assigned", gettext_lazy("Attribution du dossier")),
    ("labels", gettext_lazy("Étiquettes modifiées")),
    ("annotation", gettext_lazy("Annotation privée ajoutée")),
    ("document", gettext_lazy("Document généré")),
    ("*", gettext_lazy("Tous les événements, y compris ceux ajoutés plus tard")),
]
# Details of a timeline event that may leave the server: states, keys and labels — never the
# answers, messages or motivations (the receiver reads those through the API, with a token).
SAFE_DETAILS = {"key", "label", "from", "to", "from_label", "to_label", "public_label",
                "state", "reason", "from_applicant", "message", "fields", "decision",
                "signature", "step", "title", "rule", "system", "number", "service"}


class UnsafeAddress(ValidationError):
    """The webhook's address is refused (private network, unknown host, bad scheme)."""


def register() -> None:
    from mairie.core.notifications.kinds import register_kind

    register_kind(NOTIFICATION_KIND, gettext_lazy("Webhook désactivé après des échecs"),
                  description=gettext_lazy("Quand un webhook d'une démarche que vous "
                                           "concevez est désactivé faute de réponse."),
                  for_residents=False)
    post_save.connect(_on_dossier_event, sender=DossierEvent,
                      dispatch_uid="procedures.webhooks.dossier_event")


# --- Addresses (SSRF) ---------------------------------------------------------------------


def _allow_private() -> bool:
    return bool(getattr(settings, "MAIRIE_WEBHOOKS_ALLOW_PRIVATE", False))


def resolve_public_address(url: str) -> tuple[str, int, str]:
    """(scheme, port, IP address to connect to) for `url`; raises `UnsafeAddress` when the
    scheme is not http(s) or the host resolves to a loopback, private, link-local, reserved or
    multicast address (unless private addresses are allowed by the settings)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress(_("L'adresse doit commencer par https:// (ou http://)."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeAddress(_("Le port de l'adresse n'est pas valide.")) from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeAddress(_("Le nom « %(host)s » est introuvable.")
                            % {"host": parts.hostname}) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeAddress(_("Le nom « %(host)s » est introuvable.") % {"host": parts.hostname})
    if not _allow_private():
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeAddress(
                    _("L'adresse « %(host)s » mène à un réseau privé ou local (%(ip)s) : "
                      "seules les adresses publiques sont appelées.")
                    % {"host": parts.hostname, "ip": address})
    return parts.scheme, port, addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the address checked beforehand, with the certificate checked for the name."""

    def __init__(self, host: str, port: int, *, address: str, **kwargs) -> None:
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self.host)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST without following redirects; (status code, start of the response body)."""
    scheme, port, address = resolve_public_address(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = _PinnedHTTPSConnection(parts.hostname or "", port, address=address,
                                            timeout=TIMEOUT_SECONDS,
                                            context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("POST", path, body=body,
                           headers={**headers, "Host": parts.netloc.rpartition("@")[2]})
        response = connection.getresponse()
        excerpt = response.read(4096).decode("utf-8", errors="replace")[:EXCERPT_CHARS]
        return response.status, excerpt
    finally:
        connection.close()


# --- Signing --------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed) for `delivery`."""
    document = {"id": str(delivery.pk), "event": delivery.event,
                "created_at": delivery.created_at.isoformat(), **delivery.payload}
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


# --- Configuring endpoints -----------------------------------------------------------------


def _require_designer(actor, definition: ProcedureDefinition) -> None:
    if not may_design(actor, definition, definition.organisation):
        raise PermissionDenied


def _clean_events(events: Iterable[str]) -> list[str]:
    known = {key for key, _label in EVENT_CHOICES}
    events = sorted(set(events))
    if not events:
        raise ValidationError({"events": [_("Choisissez au moins un événement.")]})
    unknown = [event for event in events if event not in known]
    if unknown:
        raise ValidationError({"events": [_("Événement inconnu : %(events)s.")
                                          % {"events": ", ".join(unknown)}]})
    return ["*"] if "*" in events else events


@transaction.atomic
def save_endpoint(*, actor, definition: ProcedureDefinition, url: str, events: Iterable[str],
                  active: bool = True, description: str = "",
                  endpoint: WebhookEndpoint | None = None,
                  request: HttpRequest | None = None) -> WebhookEndpoint:
    """Create or change an endpoint of `definition`. Re-activating resets the failure count."""
    _require_designer(actor, definition)
    url = (url or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        resolve_public_address(url)
    except UnsafeAddress as exc:
        errors["url"] = exc.messages
    try:
        events = _clean_events(events)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if endpoint is None:
        endpoint = WebhookEndpoint(organisation=definition.organisation, definition=definition)
        action = "procedures.webhook_created"
    else:
        if endpoint.definition_id != definition.pk:
            raise PermissionDenied
        action = "procedures.webhook_updated"
    if active and not endpoint.active:
        endpoint.consecutive_failures, endpoint.disabled_at = 0, None
    endpoint.url, endpoint.events, endpoint.active = url, list(events), bool(active)
    endpoint.description = (description or "").strip()[:200]
    endpoint.save()
    record_event(organisation=definition.organisation, action=action, actor=actor,
                 obj=endpoint, object_label=definition.title, request=request,
                 details={"url": url, "events": list(events), "active": bool(active)})
    return endpoint


@transaction.atomic
def delete_endpoint(*, actor, endpoint: WebhookEndpoint,
                    request: HttpRequest | None = None) -> None:
    _require_designer(actor, endpoint.definition)
    record_event(organisation=endpoint.organisation, action="procedures.webhook_deleted",
                 actor=actor, obj=endpoint, object_label=endpoint.definition.title,
                 request=request, details={"url": endpoint.url})
    endpoint.delete()


# --- Creating deliveries --------------------------------------------------------------------


def _api_link(organisation, dossier_id) -> str:
    from mairie.core.notifications.emails import absolute_link

    return absolute_link(organisation, reverse("api:dossier-detail", args=[dossier_id]))


def payload_for(event: DossierEvent) -> dict[str, Any]:
    """What receivers learn of an event: references, states and labels, no personal data."""
    dossier = event.dossier
    version = dossier.version
    definition = version.definition
    details = event.details or {}
    return {
        "organisation": dossier.organisation.slug,
        "procedure": {"id": str(definition.pk), "slug": definition.slug,
                      "title": definition.title},
        "dossier": {"id": str(dossier.pk), "number": dossier.number, "state": dossier.state,
                    "state_label": version.workflow.state_label(dossier.state),
                    "submitted_at": dossier.submitted_at.isoformat()
                    if dossier.submitted_at else None,
                    "url": _api_link(dossier.organisation, dossier.pk)},
        "timeline_event": {
            "id": str(event.pk), "kind": event.kind, "at": event.at.isoformat(),
            "public": event.public, "system": event.actor_id is None,
            "actor": str(event.actor_id) if event.actor_id else None,
            "details": {key: value for key, value in details.items() if key in SAFE_DETAILS},
        },
    }


def _on_dossier_event(sender, instance: DossierEvent, created: bool, raw: bool = False,
                      **kwargs) -> None:
    if not created or raw:
        return
    enqueue_for_event(instance)


def enqueue_for_event(event: DossierEvent) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the dossier's procedure subscribed to the event's
    kind, written now (same transaction as the event) and sent after the commit. Drafts send
    nothing: only submitted dossiers exist for the agents and their tools."""
    return enqueue_for_events([event])


def enqueue_for_events(events: list[DossierEvent]) -> list[WebhookDelivery]:
    """`enqueue_for_event` for many events at once (batch work): the endpoints are read once
    per version, the deliveries written in one insert."""
    endpoints_of: dict = {}
    deliveries = []
    now = timezone.now()
    for event in events:
        dossier = event.dossier
        if dossier.submitted_at is None:
            continue
        if dossier.version_id not in endpoints_of:
            # One query per version, joined through it (no extra fetch of the version).
            endpoints_of[dossier.version_id] = list(WebhookEndpoint.objects.filter(
                organisation_id=dossier.organisation_id, active=True,
                definition__versions=dossier.version_id))
        endpoints = [endpoint for endpoint in endpoints_of[dossier.version_id]
                     if endpoint.subscribes_to(event.kind)]
        if not endpoints:
            continue
        payload = payload_for(event)
        deliveries += [WebhookDelivery(
            organisation_id=dossier.organisation_id, endpoint=endpoint, event=event.kind,
            dossier_event=event, payload=payload, next_attempt_at=now) for endpoint in endpoints]
    if deliveries:
        insert_all(deliveries)
        _queue([delivery.pk for delivery in deliveries])
    return deliveries


def _queue(delivery_ids: list, *, countdown: int | None = None) -> None:
    """Hand deliveries to the worker after the commit (a retry: after `countdown` seconds).

    In eager mode (no broker: the embedded set-up, the tests) a retry is not sent at once:
    it waits for the periodic sweep, which sends what is due."""
    from . import tasks_api

    if countdown is not None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return
        for pk in delivery_ids:
            transaction.on_commit(partial(tasks_api.deliver_webhook.apply_async,
                                          args=[str(pk)], countdown=countdown), robust=True)
        return
    for pk in delivery_ids:
        transaction.on_commit(partial(tasks_api.deliver_webhook.delay, str(pk)), robust=True)


@transaction.atomic
def send_ping(*, actor, endpoint: WebhookEndpoint,
              request: HttpRequest | None = None) -> WebhookDelivery:
    """A test event, sent now, to check the receiver and its signature check."""
    definition = endpoint.definition
    _require_designer(actor, definition)
    delivery = WebhookDelivery.objects.create(
        organisation=endpoint.organisation, endpoint=endpoint, event=PING,
        next_attempt_at=timezone.now(),
        payload={"organisation": endpoint.organisation.slug,
                 "procedure": {"id": str(definition.pk), "slug": definition.slug,
                               "title": definition.title},
                 "message": "Test d'envoi depuis Mairie."})
    record_event(organisation=endpoint.organisation, action="procedures.webhook_ping",
                 actor=actor, obj=endpoint, object_label=definition.title, request=request,
                 details={"delivery": str(delivery.pk)})
    _queue([delivery.pk])
    return delivery


@transaction.atomic
def resend(*, actor, delivery: WebhookDelivery,
           request: HttpRequest | None = None) -> WebhookDelivery:
    """Send the same content again as a new delivery (a new id: a receiver that remembers ids
    would otherwise drop it as a replay)."""
    endpoint = delivery.endpoint
    _require_designer(actor, endpoint.definition)
    copy = WebhookDelivery.objects.create(
        organisation=delivery.organisation, endpoint=endpoint, event=delivery.event,
        dossier_event_id=delivery.dossier_event_id, payload=delivery.payload,
        next_attempt_at=timezone.now(), resent_from=delivery)
    record_event(organisation=endpoint.organisation, action="procedures.webhook_resent",
                 actor=actor, obj=endpoint, object_label=endpoint.definition.title,
                 request=request, details={"delivery": str(delivery.pk), "copy": str(copy.pk)})
    _queue([copy.pk])
    return copy


# --- Sending --------------------------------------------------------------------------------


def _claim(delivery_id) -> WebhookDelivery | None:
    """Take the delivery for this worker: due and pending, or left "sending" by a worker that
    died. A conditional UPDATE, so two workers never send the same attempt."""
    now = timezone.now()
    claimable = (Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
                 | Q(status=WebhookDelivery.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT))
    taken = (WebhookDelivery.objects.filter(pk=delivery_id).filter(claimable)
             .update(status=WebhookDelivery.Status.SENDING, claimed_at=now, updated_at=now))
    if not taken:
        return None
    return WebhookDelivery.objects.select_related("endpoint__definition",
                                                  "organisation").get(pk=delivery_id)


def deliver(delivery_id) -> str | None:
    """Send one delivery now if it is due; record the answer; schedule the retry or give up.
    Returns the delivery's new status (None when there was nothing to send)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None,
            error=_("Webhook désactivé : envoi abandonné."), updated_at=timezone.now())
        return WebhookDelivery.Status.FAILED
    body = body_of(delivery)
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "Mairie-Webhooks/1",
               SIGNATURE_HEADER: signature_header(endpoint.secret, timestamp, body),
               DELIVERY_HEADER: str(delivery.pk), EVENT_HEADER: delivery.event}
    status_code, excerpt, error = None, "", ""
    try:
        status_code, excerpt = _post(endpoint.url, body, headers)
    except UnsafeAddress as exc:
        error = " ".join(exc.messages)
    except (OSError, http.client.HTTPException) as exc:
        error = _("Échec de la connexion : %(error)s") % {"error": exc.__class__.__name__
                                                           + (f" ({exc})" if str(exc) else "")}
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = _("Réponse HTTP %(code)s.") % {"code": status_code}
    return _record_attempt(delivery, ok=ok, status_code=status_code, excerpt=excerpt,
                           error=error)


@transaction.atomic
def _record_attempt(delivery: WebhookDelivery, *, ok: bool, status_code: int | None,
                    excerpt: str, error: str) -> str:
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {"attempts": attempts, "status_code": status_code,
                              "response_excerpt": excerpt, "error": error, "updated_at": now,
                              "claimed_at": None}
    if ok:
        fields.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now,
                      next_attempt_at=None)
        endpoint.consecutive_failures = 0
        endpoint.save(update_fields=["consecutive_failures", "updated_at"])
    else:
        endpoint.consecutive_failures += 1
        endpoint.save(update_fields=["consecutive_failures", "updated_at"])
        if endpoint.active and endpoint.consecutive_failures >= max_failures():
            _disable(endpoint)
            fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None,
                          error=f"{error} " + _("Webhook désactivé : envoi abandonné."))
        elif attempts <= len(RETRY_DELAYS) and endpoint.active:
            delay = RETRY_DELAYS[attempts - 1]
            fields.update(status=WebhookDelivery.Status.PENDING,
                          next_attempt_at=now + dt.timedelta(seconds=delay))
            _queue([delivery.pk], countdown=delay)
        else:
            fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return fields["status"]


def max_failures() -> int:
    return int(getattr(settings, "MAIRIE_WEBHOOKS_MAX_FAILURES", 10))


def _disable(endpoint: WebhookEndpoint) -> None:
    """Stop calling an endpoint that keeps failing; its pending deliveries are abandoned and
    the people who design the procedure are told (done by the system: no actor)."""
    from mairie.core.notifications.services import notify

    now = timezone.now()
    endpoint.active, endpoint.disabled_at = False, now
    endpoint.save(update_fields=["active", "disabled_at", "updated_at"])
    (WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING)
     .update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None, updated_at=now,
             error=_("Webhook désactivé : envoi abandonné.")))
    definition = endpoint.definition
    record_event(organisation=endpoint.organisation, action="procedures.webhook_disabled",
                 actor=None, obj=endpoint, object_label=definition.title,
                 details={"system": True, "rule": "webhook_failures", "url": endpoint.url,
                          "failures": endpoint.consecutive_failures})
    recipients = designers_of(definition)
    if recipients:
        notify(organisation=endpoint.organisation, recipients=recipients,
               kind=NOTIFICATION_KIND,
               title=_("Webhook désactivé : %(title)s") % {"title": definition.title},
               body=_("Après %(count)s échecs consécutifs, les envois vers %(url)s sont "
                      "arrêtés. Vérifiez le serveur qui les reçoit, puis réactivez le "
                      "webhook.") % {"count": endpoint.consecutive_failures,
                                     "url": endpoint.url},
               url=reverse("procedures:webhooks", args=[definition.slug]))


def designers_of(definition: ProcedureDefinition) -> list:
    """Who `rules.may_design` the procedure: the organisation's administrators and the
    managers and directors of its owning service."""
    from mairie.core.organisation.models import Membership, Role
    from mairie.core.users.models import User

    from .rules import DESIGNER_ROLES

    holders = Membership.objects.filter(organisation_id=definition.organisation_id).filter(
        Q(role=Role.ADMINISTRATOR)
        | Q(service_id=definition.service_id, role__in=DESIGNER_ROLES)).values("user_id")
    return list(User.objects.filter(organisation_id=definition.organisation_id, is_active=True,
                                    pk__in=holders).order_by("email"))


def deliver_due(*, limit: int = 500) -> int:
    """The periodic sweep: send every delivery due now (retries in eager mode, messages the
    broker lost, attempts of a worker that died). Returns how many were attempted."""
    now = timezone.now()
    due = (WebhookDelivery.objects
           .filter(Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
                   | Q(status=WebhookDelivery.Status.SENDING,
                       claimed_at__lt=now - CLAIM_TIMEOUT))
           .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    count = 0
    for pk in list(due):
        if deliver(pk) is not None:
            count += 1
    return count


# --- Reads for the page -----------------------------------------------------------------------


def endpoints_of(definition: ProcedureDefinition):
    return WebhookEndpoint.objects.filter(organisation_id=definition.organisation_id,
                                          definition=definition).order_by("created_at")


def deliveries_of(definition: ProcedureDefinition):
    return (WebhookDelivery.objects
            .filter(organisation_id=definition.organisation_id, endpoint__definition=definition)
            .select_related("endpoint").order_by("-created_at"))
