"""A person's copy of their data ("Mes données"): JSON for machines, PDF for people. Built
from the modules' declarations (`registry`); each download is audited."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

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
