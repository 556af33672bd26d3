"""A person's copy of their data ("Mes données"): JSON for machines, PDF for people. Built
from the modules' declarations (`registry`); each download is audited."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event

from .registry import activities


def personal_data(user, organisation) -> dict[str, Any]:
    """Everything the modules hold about `user` in `organisation`, one section per activity
    that keeps something per person."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id != organisation.pk:
        raise PermissionDenied
    sections = []
    for activity in activities():
        if activity.export is None:
            continue
        rows = activity.export(user, organisation)
        sections.append({"key": activity.key, "name": str(activity.name),
                         "purpose": str(activity.purpose),
                         "retention": str(activity.retention), "rows": rows})
    return {"generated_at": timezone.now().isoformat(),
            "organisation": {"name": organisation.name, "slug": organisation.slug,
                             "dpo_email": getattr(organisation, "dpo_email", "")},
            "person": {"email": user.email, "name": user.get_full_name()},
            "sections": sections}


def _audit(user, organisation, kind: str, data: dict, request) -> None:
    record_event(organisation=organisation, action="privacy.data_exported", actor=user,
                 obj=user, object_label=str(user.pk), request=request,
                 details={"format": kind,
                          "sections": {s["key"]: len(s["rows"]) for s in data["sections"]}})


def export_json(user, organisation, request: HttpRequest | None = None) -> bytes:
    data = personal_data(user, organisation)
    _audit(user, organisation, "json", data, request)
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def _no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"The export fetches no external resource ({url!r}).")


def export_pdf(user, organisation, request: HttpRequest | None = None) -> bytes:
    import weasyprint

    data = personal_data(user, organisation)
    _audit(user, organisation, "pdf", data, request)
    html = render_to_string("privacy/export_pdf.html", {"data": data,
                                                       "organisation": organisation})
    return weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf(
        pdf_variant="pdf/ua-1")


# --- Requests handled by the DPO --------------------------------------------------------------

def may_handle_requests(user, organisation) -> bool:
    """The administrators (the DPO holds that role) handle the personal-data requests."""
    from mairie.core.organisation.queries import is_org_administrator

    return is_org_administrator(user, organisation)


def one_month_after(day):
    """The GDPR's one-month answer deadline (art. 12.3): same day next month, or its last day."""
    import calendar

    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def record_request(*, actor, organisation, values: dict, request: HttpRequest | None = None):
    from django.contrib.auth import get_user_model

    from .models import PrivacyRequest

    if not may_handle_requests(actor, organisation):
        raise PermissionDenied
    received = values.get("received_on") or timezone.localdate()
    email = (values.get("requester_email") or "").strip()
    account = (get_user_model().objects.filter(organisation=organisation, email__iexact=email)
               .first() if email else None)
    privacy_request = PrivacyRequest.objects.create(
        organisation=organisation, kind=values["kind"],
        requester_name=values["requester_name"], requester_email=email, account=account,
        details=values.get("details") or "", received_on=received,
        due_on=one_month_after(received))
    record_event(organisation=organisation, action="privacy.request_recorded", actor=actor,
                 obj=privacy_request, object_label=privacy_request.get_kind_display(),
                 request=request, details={"kind": privacy_request.kind,
                                           "account": bool(account),
                                           "due_on": privacy_request.due_on.isoformat()})
    return privacy_request


def erase(*, actor, privacy_request, request: HttpRequest | None = None):
    """Apply an erasure request to the account: each module erases what it may and says what
    it keeps and under which rule; both lists are stored on the request."""
    from django.db import transaction

    from .models import PrivacyRequest

    organisation = privacy_request.organisation
    if not may_handle_requests(actor, organisation):
        raise PermissionDenied
    with transaction.atomic():
        current = PrivacyRequest.objects.select_for_update().get(pk=privacy_request.pk)
        if current.kind != PrivacyRequest.Kind.ERASURE or current.account is None:
            raise ValidationError(_("Seule une demande d'effacement liée à un compte peut "
                                    "être appliquée ici."))
        if current.status != PrivacyRequest.Status.OPEN or current.erased:
            raise ValidationError(_("Cette demande a déjà été appliquée ou close."))
        erased, kept = [], []
        for activity in activities():
            if activity.erase is None:
                continue
            outcome = activity.erase(current.account, organisation)
            erased += [f"{activity.name} : {line}" for line in outcome.get("erased", [])]
            kept += [f"{activity.name} : {line}" for line in outcome.get("kept", [])]
        current.erased, current.kept = erased or [str(_("Rien à effacer."))], kept
        current.handled_by = actor
        current.lock_version += 1
        current.save(update_fields=["erased", "kept", "handled_by", "lock_version",
                                    "updated_at"])
        record_event(organisation=organisation, action="privacy.erasure_applied", actor=actor,
                     obj=current, object_label=current.get_kind_display(), request=request,
                     details={"erased": len(erased), "kept": len(kept)})
    return current


def close_request(*, actor, privacy_request, status: str, answer: str, lock_version,
                  request: HttpRequest | None = None):
    from django.db import transaction

    from .models import PrivacyRequest

    if not may_handle_requests(actor, privacy_request.organisation):
        raise PermissionDenied
    if status not in (PrivacyRequest.Status.DONE, PrivacyRequest.Status.REFUSED):
        raise ValidationError({"status": _("Choisissez : traitée ou refusée.")})
    if status == PrivacyRequest.Status.REFUSED and not answer.strip():
        raise ValidationError({"answer": _("Un refus se motive : écrivez la réponse faite à "
                                           "la personne.")})
    with transaction.atomic():
        current = PrivacyRequest.objects.select_for_update().get(pk=privacy_request.pk)
        if str(current.lock_version) != str(lock_version) or (
                current.status != PrivacyRequest.Status.OPEN):
            raise ValidationError(_("Cette demande a changé depuis l'affichage de la page : "
                                    "rechargez-la."))
        current.status, current.answer = status, answer
        current.closed_at, current.handled_by = timezone.now(), actor
        current.lock_version += 1
        current.save()
        record_event(organisation=current.organisation, action="privacy.request_closed",
                     actor=actor, obj=current, object_label=current.get_kind_display(),
                     request=request, details={"status": status,
                                               "late": timezone.localdate() > current.due_on})
    return current
