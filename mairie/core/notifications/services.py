"""Writes of the notifications subsystem: notify, mark as read, preferences, e-mail deliveries.

`notify()` is how every module tells a person something. It stores one `Notification` per
recipient inside the caller's transaction; only once that transaction commits does anything
leave the server (a websocket push to each recipient's group, an e-mail task for those who want
e-mails immediately), so a rolled-back action never produces a message about something that
did not happen.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import Truncator

from mairie.core.audit.services import record_event
from mairie.core.bulk import insert_all
from mairie.core.tenancy.models import Organisation

from . import emails
from .kinds import codes_with_default, get_kind
from .models import (
    Frequency,
    Notification,
    NotificationDigest,
    NotificationPreference,
    subject_of,
)
from .queries import frequencies_for, notifications_for, preference_kinds_for
from .rules import is_recipient

logger = logging.getLogger(__name__)

#: The handler name in the consumer is derived from this type (dots become underscores).
PUSH_EVENT_TYPE = "notification.push"


def group_for_user(user_id) -> str:
    """The channel-layer group every open websocket of one user joins."""
    return f"notifications.user.{getattr(user_id, 'hex', user_id)}"


def _check_url(url: str) -> str:
    """A link must stay a link: a path on this site, or an http(s) address; never `javascript:`."""
    if not url:
        return ""
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    if url.startswith(("https://", "http://")):
        return url
    raise ValueError(f"Refusing notification link {url!r}: use a path or an http(s) URL.")


def notify(
    *,
    organisation,
    recipients: Iterable,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    actor=None,
    about=None,
) -> list[Notification]:
    """Store a notification of `kind` for each recipient, then push and e-mail after commit.

    Recipients must belong to `organisation` (a notification never crosses collectivités);
    inactive accounts and duplicates are skipped. `about` is the object the notification is
    about (a dossier…), kept as its `subject`. Returns the stored notifications.
    """
    get_kind(kind)  # refuses an unregistered kind, recipients or not
    unique: dict[Any, Any] = {}
    for user in recipients:
        unique.setdefault(user.pk, user)
    return notify_many(organisation=organisation, actor=actor, items=[
        {"recipient": user, "kind": kind, "title": title, "body": body, "url": url,
         "about": about} for user in unique.values()])


def notify_many(*, organisation, items: list[Mapping[str, Any]],
                actor=None) -> list[Notification]:
    """`notify` for many notifications at once, each with its own recipient, kind, title,
    body and link (e.g. one per dossier decided by the hourly pass): one insert, one read of
    the preferences, one push and one e-mail hand-off after commit for them all."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    rows = []
    for item in items:
        user = item["recipient"]
        get_kind(item["kind"])  # refuses an unregistered kind
        if user.organisation_id != organisation.pk and not user.is_superuser:
            raise ValueError(f"{user} does not belong to {organisation}.")
        if not user.is_active:
            continue
        rows.append(Notification(organisation=organisation, recipient=user, actor=actor,
                                 kind=item["kind"],
                                 title=Truncator(item["title"]).chars(300),
                                 body=item.get("body") or "",
                                 url=_check_url(item.get("url") or ""),
                                 subject=subject_of(item.get("about"))))
    if not rows:
        return []
    with transaction.atomic():
        created = list(insert_all(rows))
        chosen = dict(((user_id, kind), frequency) for user_id, kind, frequency in
                      NotificationPreference.objects.filter(
                          user_id__in={n.recipient_id for n in created},
                          kind__in={n.kind for n in created})
                      .values_list("user_id", "kind", "frequency"))
        to_email = [str(n.pk) for n in created
                    if chosen.get((n.recipient_id, n.kind),
                                  get_kind(n.kind).default_frequency) == Frequency.IMMEDIATELY
                    and n.recipient.email]
        if len(created) > PUSH_INLINE_MAX:
            ids = [str(n.pk) for n in created]
            transaction.on_commit(lambda: _enqueue_pushes(ids), robust=True)
        else:
            transaction.on_commit(lambda: _push_new(organisation, created), robust=True)
        transaction.on_commit(lambda: _enqueue_emails(to_email), robust=True)
    return created


# Past this many notifications at once (a pass deciding thousands of dossiers), the live
# pushes are handed to the worker, as the e-mails are: each is a round trip to the channel
# layer, which the decisions need not wait for.
PUSH_INLINE_MAX = 50
PUSHES_PER_TASK = 1000


def _enqueue_pushes(notification_ids: list[str]) -> None:
    from .tasks import push_notifications

    for start in range(0, len(notification_ids), PUSHES_PER_TASK):
        push_notifications.delay(notification_ids[start:start + PUSHES_PER_TASK])


def push_stored(notification_ids: list[str]) -> int:
    """The live push of stored notifications (`push_notifications` task), per organisation;
    those deleted meanwhile are skipped."""
    by_organisation: dict = {}
    for notification in (Notification.objects.filter(pk__in=notification_ids)
                         .select_related("organisation")):
        by_organisation.setdefault(notification.organisation, []).append(notification)
    for organisation, notifications in by_organisation.items():
        _push_new(organisation, notifications)
    return sum(len(notifications) for notifications in by_organisation.values())


# Notifications e-mailed together are handed to the worker this many per task.
EMAILS_PER_TASK = 200


def _enqueue_emails(notification_ids: list[str]) -> None:
    from .tasks import send_notification_email, send_notification_emails

    if len(notification_ids) == 1:
        send_notification_email.delay(notification_ids[0])
        return
    for start in range(0, len(notification_ids), EMAILS_PER_TASK):
        send_notification_emails.delay(notification_ids[start:start + EMAILS_PER_TASK])


def _push_new(organisation, notifications: list[Notification]) -> None:
    counts = dict(
        Notification.objects.filter(organisation=organisation, read_at__isnull=True,
                                    recipient_id__in=[n.recipient_id for n in notifications])
        .order_by().values("recipient_id").annotate(n=Count("id"))
        .values_list("recipient_id", "n"))
    _push_many([
        (n.recipient_id, {"type": "notification", "id": str(n.pk), "kind": n.kind,
                          "title": n.title, "body": n.body, "url": n.url,
                          "unread_count": counts.get(n.recipient_id, 0)})
        for n in notifications
    ])


def _push_unread_count(user, organisation) -> None:
    count = notifications_for(user, organisation).filter(read_at__isnull=True).count()
    _push_many([(user.pk, {"type": "unread", "unread_count": count})])


def _push_many(messages: list[tuple[object, dict]]) -> None:
    """Send each payload to its user's group, in one event loop for the whole batch."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        for user_id, payload in messages:
            await layer.group_send(group_for_user(user_id),
                                   {"type": PUSH_EVENT_TYPE, "payload": payload})

    async_to_sync(send_all)()


def mark_read(*, actor, notification: Notification) -> Notification:
    """Mark one of the actor's own notifications as read (idempotent).

    Not audited: an inbox's read state is the user's own business, not an act of the
    administration (see docs/decisions/0120-notification-reads-not-audited.md).
    """
    if not is_recipient(actor, notification):
        raise PermissionDenied
    if notification.read_at is None:
        with transaction.atomic():
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at", "updated_at"])
            organisation = notification.organisation
            transaction.on_commit(lambda: _push_unread_count(actor, organisation), robust=True)
    return notification


def mark_all_read(*, actor, organisation) -> int:
    """Mark every unread notification of the actor in `organisation` as read; returns how many."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied
    with transaction.atomic():
        count = (notifications_for(actor, organisation).filter(read_at__isnull=True)
                 .update(read_at=timezone.now()))
        if count:
            transaction.on_commit(lambda: _push_unread_count(actor, organisation), robust=True)
    return count


def update_preferences(
    *,
    actor,
    organisation,
    frequencies: Mapping[str, str],
    request: HttpRequest | None = None,
) -> dict[str, str]:
    """Save the actor's e-mail frequency per kind; returns the kinds that changed. Audited."""
    if (not getattr(actor, "is_authenticated", False)
            or actor.organisation_id != organisation.pk):
        raise PermissionDenied
    allowed = {k.code: k for k in preference_kinds_for(actor, organisation)}
    for code, frequency in frequencies.items():
        if code not in allowed:
            raise ValueError(f"Unknown notification kind {code!r} for this user.")
        if frequency not in Frequency.values:
            raise ValueError(f"Unknown frequency {frequency!r}.")
    with transaction.atomic():
        current = frequencies_for(actor, [allowed[code] for code in frequencies])
        changes = {code: f for code, f in frequencies.items() if current[code] != f}
        for code, frequency in changes.items():
            NotificationPreference.objects.update_or_create(
                user=actor, kind=code, defaults={"frequency": frequency})
        if changes:
            record_event(
                organisation=organisation, action="notifications.preferences_changed",
                actor=actor, obj=actor, request=request,
                details={"changes": {code: {"from": current[code], "to": f}
                                     for code, f in changes.items()}},
            )
    return changes


def deliver_notification_email(*, notification_id) -> bool:
    """E-mail one notification, at most once. Returns True when an e-mail went out.

    The notification is claimed (its `emailed_at` set) before sending, so two workers running
    the same task send one e-mail; a failed send releases the claim for the retry.
    """
    notification = (Notification.objects.select_related("recipient", "organisation")
                    .filter(pk=notification_id).first())
    if notification is None or notification.emailed_at is not None:
        return False
    recipient = notification.recipient
    if not recipient.is_active or not recipient.email:
        return False
    kind = get_kind(notification.kind)
    if frequencies_for(recipient, [kind])[kind.code] != Frequency.IMMEDIATELY:
        return False  # changed their mind meanwhile: the digest (or nothing) takes over
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=now)
    if not claimed:
        return False
    try:
        emails.send_notification_email(notification)
    except Exception:
        Notification.objects.filter(pk=notification.pk, emailed_at=now).update(emailed_at=None)
        raise
    return True


def pending_digest_notifications() -> QuerySet[Notification]:
    """Unread notifications, not yet e-mailed, whose kind the recipient wants in a digest."""
    choice = NotificationPreference.objects.filter(user=OuterRef("recipient"),
                                                   kind=OuterRef("kind"))
    return (Notification.objects
            .filter(emailed_at__isnull=True, read_at__isnull=True, recipient__is_active=True)
            .annotate(chosen=Subquery(choice.values("frequency")[:1]))
            .filter(Q(chosen=Frequency.DAILY)
                    | Q(chosen__isnull=True, kind__in=codes_with_default(Frequency.DAILY))))


def send_daily_digests(*, now: datetime | None = None) -> int:
    """E-mail each user one digest of their pending "daily" notifications; returns how many.

    Meant to run every hour (Celery beat): a user gets their digest on the first run after
    `MAIRIE_NOTIFICATION_DIGEST_HOUR` (7 by default) in their organisation's time zone, and one
    digest a day at most. Running it again sends nothing new: delivered notifications carry
    `emailed_at`. One user's failure (a refused address) does not stop the others.
    """
    now = now or timezone.now()
    hour = getattr(settings, "MAIRIE_NOTIFICATION_DIGEST_HOUR", 7)
    pairs = (pending_digest_notifications().order_by()
             .values_list("recipient_id", "organisation_id").distinct())
    sent = 0
    for recipient_id, organisation_id in list(pairs):
        try:
            sent += _send_digest(recipient_id, organisation_id, now=now, hour=hour)
        except Exception:
            logger.exception("Daily digest to user %s failed", recipient_id)
    return sent


def _send_digest(recipient_id, organisation_id, *, now: datetime, hour: int) -> bool:
    with transaction.atomic():
        recipient = get_user_model().objects.get(pk=recipient_id)
        organisation = Organisation.objects.get(pk=organisation_id)
        local_now = now.astimezone(zoneinfo.ZoneInfo(organisation.time_zone))
        if local_now.hour < hour or not recipient.email:
            return False
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        if NotificationDigest.objects.filter(recipient=recipient, organisation=organisation,
                                             sent_at__gte=midnight).exists():
            return False
        items = list(pending_digest_notifications()
                     .filter(recipient=recipient, organisation=organisation)
                     .select_for_update(of=("self",)).order_by("created_at", "id"))
        if not items:
            return False
        emails.send_digest_email(recipient=recipient, organisation=organisation,
                                 notifications=items)
        Notification.objects.filter(pk__in=[n.pk for n in items]).update(emailed_at=now)
        NotificationDigest.objects.create(organisation=organisation, recipient=recipient,
                                          sent_at=now, notification_count=len(items))
    return True
