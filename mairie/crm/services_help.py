"""Help requests for online procedures (Solidarité numérique): asked on the public page or
noted by a mediator who took the call, taken, then closed with what was done — which lands on
the person's record as a contact. Written here; read in `queries.py`; who in `rules.py`."""

from __future__ import annotations

import secrets

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mairie.core.audit.services import client_ip, record_event
from mairie.core.notifications.kinds import register_kind
from mairie.core.notifications.services import notify
from mairie.core.organisation.models import Membership, Role

from . import rules, services
from .models import Channel, HelpRequest, Interaction, ResidentRecord

NOTIFICATION_KIND = "crm.help_request"
# The public page takes this many requests per hour from one address (then says to call).
PER_HOUR = 5
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone

OUTCOME_AS_CONTACT: dict[str, str] = {
    HelpRequest.Outcome.HELPED: Interaction.Outcome.ANSWERED,
    HelpRequest.Outcome.COUNTER: Interaction.Outcome.ANSWERED,
    HelpRequest.Outcome.APPOINTMENT: Interaction.Outcome.APPOINTMENT,
    HelpRequest.Outcome.FILED: Interaction.Outcome.DOSSIER,
    HelpRequest.Outcome.UNREACHABLE: Interaction.Outcome.UNREACHABLE,
}


class TooManyRequests(Exception):
    pass


class StaleHelpRequest(Exception):
    pass


def register() -> None:
    register_kind(NOTIFICATION_KIND, gettext_lazy("Demandes d'aide à rappeler"),
                  description=gettext_lazy("Quand quelqu'un demande de l'aide pour une "
                                           "démarche en ligne."),
                  for_residents=False)


def _reference() -> str:
    while True:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
        reference = f"{code[:3]}-{code[3:]}"
        if not HelpRequest.objects.filter(reference=reference).exists():
            return reference


def _throttle(request: HttpRequest | None) -> None:
    ip = client_ip(request)
    if ip is None:
        return
    key = f"crm:help:{ip}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=3600)
        count = 1
    if count > PER_HOUR:
        raise TooManyRequests


def _mediators(organisation):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(
        is_active=True, pk__in=Membership.objects.filter(
            organisation=organisation, role=Role.MEDIATOR).values("user_id"))


@transaction.atomic
def request_help(*, organisation, values: dict, account=None, actor=None,
                 request: HttpRequest | None = None) -> HelpRequest:
    """Store a help request and tell the mediators. From the public page (`actor` None;
    throttled per address) or noted by an agent who took a call (`actor`, channel phone)."""
    if actor is not None:
        if not rules.handles_help_requests(actor, organisation):
            raise PermissionDenied
        channel = Channel.PHONE
    else:
        _throttle(request)
        channel = Channel.WEB
    if not values.get("phone") and not values.get("email"):
        raise ValidationError(_("Laissez un numéro de téléphone ou une adresse de courriel "
                                "pour que l'on puisse vous répondre."))
    help_request = HelpRequest.objects.create(
        organisation=organisation, reference=_reference(), channel=channel,
        account=account if account is not None and account.organisation_id == organisation.pk
        else None, **values)
    record_event(organisation=organisation, action="crm.help_requested", actor=actor,
                 obj=help_request, object_label=help_request.reference, request=request,
                 details={"topic": help_request.topic, "channel": channel,
                          "for_a_relative": bool(help_request.relative_name)})
    notify(organisation=organisation, recipients=_mediators(organisation),
           kind=NOTIFICATION_KIND, about=help_request,
           title=_("Demande d'aide %(reference)s à rappeler") % {
               "reference": help_request.reference},
           body=help_request.get_topic_display(),
           url=reverse("crm:help-request", args=[help_request.pk]))
    return help_request


def _locked(actor, help_request: HelpRequest, lock_version) -> HelpRequest:
    if not rules.handles_help_requests(actor, help_request.organisation):
        raise PermissionDenied
    current = HelpRequest.objects.select_for_update().get(pk=help_request.pk)
    if lock_version is not None and str(current.lock_version) != str(lock_version):
        raise StaleHelpRequest
    return current


@transaction.atomic
def take(*, actor, help_request: HelpRequest, lock_version=None,
         request: HttpRequest | None = None) -> HelpRequest:
    """The mediator calls back: the request is theirs (others see who took it)."""
    current = _locked(actor, help_request, lock_version)
    if current.status != HelpRequest.Status.NEW:
        raise ValidationError(_("Cette demande est déjà prise en charge."))
    current.status, current.taken_by = HelpRequest.Status.TAKEN, actor
    current.lock_version += 1
    current.save(update_fields=["status", "taken_by", "lock_version", "updated_at"])
    record_event(organisation=current.organisation, action="crm.help_taken", actor=actor,
                 obj=current, object_label=current.reference, request=request)
    return current


def matching_records(actor, help_request: HelpRequest) -> list[ResidentRecord]:
    """Records that may be the person's: same phone or e-mail, else same name."""
    from . import queries

    found: dict = {}
    for query in (help_request.phone, help_request.email, help_request.name):
        if query:
            for record in queries.search_records(actor, help_request.organisation, query):
                found.setdefault(record.pk, record)
        if found:
            break
    return list(found.values())[:5]


@transaction.atomic
def close(*, actor, help_request: HelpRequest, outcome: str, notes: str, record=None,
          lock_version=None, request: HttpRequest | None = None) -> HelpRequest:
    """Close the request with what was done; the person's record (`record`, else a new one
    from the request) gets the contact."""
    current = _locked(actor, help_request, lock_version)
    organisation = current.organisation
    if current.status == HelpRequest.Status.DONE:
        raise ValidationError(_("Cette demande est déjà terminée."))
    if outcome not in HelpRequest.Outcome.values:
        raise ValidationError({"outcome": _("Choisissez ce qui a été fait.")})
    if record is not None and (record.organisation_id != organisation.pk
                               or record.merged_into_id):
        raise PermissionDenied
    service = _service_of(actor, organisation)
    if record is None:
        first, _space, last = current.name.strip().rpartition(" ")
        record = services.create_record(
            actor=actor, organisation=organisation, account=current.account,
            values={"first_name": first, "last_name": last or current.name,
                    "phone": current.phone, "email": current.email,
                    "preferred_channel": ResidentRecord.Preferred.PHONE if current.phone
                    else ResidentRecord.Preferred.EMAIL},
            request=request)
    subject = _("Demande d'aide %(reference)s : %(topic)s") % {
        "reference": current.reference, "topic": current.get_topic_display()}
    services.log_interaction(actor=actor, record=record, service=service, request=request,
                             values={"channel": Channel.COUNTER
                                     if outcome == HelpRequest.Outcome.COUNTER
                                     else Channel.PHONE,
                                     "subject": subject[:200], "notes": notes,
                                     "outcome": OUTCOME_AS_CONTACT[outcome]})
    current.status, current.outcome, current.outcome_notes = (
        HelpRequest.Status.DONE, outcome, notes)
    current.record, current.closed_at = record, timezone.now()
    current.taken_by = current.taken_by or actor
    current.lock_version += 1
    current.save()
    record_event(organisation=organisation, action="crm.help_closed", actor=actor, obj=current,
                 object_label=current.reference, request=request,
                 details={"outcome": outcome, "record": str(record.pk)})
    return current


def _service_of(actor, organisation):
    """The service the mediator answers for (their mediator membership's, else their first)."""
    memberships = (Membership.objects.filter(user=actor, organisation=organisation)
                   .select_related("service").order_by("role"))
    chosen = next((m for m in memberships if m.role == Role.MEDIATOR), None) or \
        memberships.first()
    if chosen is None:
        raise PermissionDenied
    return chosen.service


__all__ = ["NOTIFICATION_KIND", "PER_HOUR", "StaleHelpRequest", "TooManyRequests", "close",
           "matching_records", "register", "request_help", "take"]
