"""Rendering and sending notification e-mails (one notification, or a daily digest).

Each e-mail is rendered in the recipient's language (their account setting, else the
organisation's, else the site default) and shows dates in the organisation's time zone, because
a Celery worker has no request to take them from. Every e-mail has a plain-text body and an HTML
alternative, both from templates under `notifications/email/`.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from mairie.core.tenancy.models import OrganisationHost

from .models import Notification


def language_for(user, organisation) -> str:
    return (getattr(user, "language", "") or getattr(organisation, "language", "")
            or settings.LANGUAGE_CODE)


def site_url(organisation) -> str:
    """Scheme and host under which `organisation` is served, for links in e-mails.

    The first host registered for the organisation wins; https in production.
    """
    host = (OrganisationHost.objects.filter(organisation=organisation).order_by("pk")
            .values_list("host", flat=True).first()) or "localhost"
    scheme = "https" if getattr(settings, "PRODUCTION", False) else "http"
    return f"{scheme}://{host}"


def absolute_link(organisation, url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return site_url(organisation) + url


def _render(name: str, context: dict, *, language: str, time_zone: str) -> tuple[str, str, str]:
    """Subject, text and HTML of `notifications/email/<name>*`."""
    try:
        tz = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    with translation.override(language), timezone.override(tz):
        context = {**context, "language": language}
        subject = render_to_string(f"notifications/email/{name}_subject.txt", context)
        text = render_to_string(f"notifications/email/{name}.txt", context)
        html = render_to_string(f"notifications/email/{name}.html", context)
    return " ".join(subject.split()), text, html


def _send(*, to: str, subject: str, text: str, html: str, language: str) -> None:
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to],
                                     from_email=settings.DEFAULT_FROM_EMAIL,
                                     headers={"Content-Language": language,
                                              "Auto-Submitted": "auto-generated"})
    message.attach_alternative(html, "text/html")
    message.send()


def _common_context(recipient, organisation) -> dict:
    return {
        "recipient": recipient,
        "organisation": organisation,
        "site_url": site_url(organisation),
        "list_url": absolute_link(organisation, reverse("notifications:list")),
        "preferences_url": absolute_link(organisation, reverse("notifications:preferences")),
    }


def send_notification_email(notification: Notification) -> None:
    recipient, organisation = notification.recipient, notification.organisation
    language = language_for(recipient, organisation)
    context = {**_common_context(recipient, organisation), "notification": notification,
               "link": absolute_link(organisation, notification.url)}
    subject, text, html = _render("notification", context, language=language,
                                  time_zone=organisation.time_zone)
    _send(to=recipient.email, subject=subject, text=text, html=html, language=language)


def send_digest_email(*, recipient, organisation, notifications: Sequence[Notification]) -> None:
    language = language_for(recipient, organisation)
    items = [{"notification": n, "link": absolute_link(organisation, n.url)}
             for n in notifications]
    context = {**_common_context(recipient, organisation), "items": items,
               "count": len(items)}
    subject, text, html = _render("digest", context, language=language,
                                  time_zone=organisation.time_zone)
    _send(to=recipient.email, subject=subject, text=text, html=html, language=language)
