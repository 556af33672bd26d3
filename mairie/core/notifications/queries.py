"""Reads of notifications and preferences, always for one user inside one organisation."""

from __future__ import annotations

from django.db.models import QuerySet

from mairie.core.organisation.queries import roles_of

from .kinds import NotificationKind, kinds_for
from .models import Notification, NotificationPreference


def notifications_for(user, organisation) -> QuerySet[Notification]:
    """The user's own notifications in `organisation`, newest first.

    Nothing for anonymous users, and nothing when the user does not belong to `organisation`
    (a session replayed on another collectivité's host sees an empty inbox, not a foreign one).
    """
    if (not getattr(user, "is_authenticated", False) or organisation is None
            or (user.organisation_id != organisation.pk and not user.is_superuser)):
        return Notification.objects.none()
    return (Notification.objects.filter(recipient=user, organisation=organisation)
            .select_related("actor").order_by("-created_at", "-id"))


def unread_count_for(user, organisation) -> int:
    return notifications_for(user, organisation).filter(read_at__isnull=True).count()


def frequencies_for(user, kinds: list[NotificationKind]) -> dict[str, str]:
    """Effective e-mail frequency per kind code: the user's choice, else the kind's default."""
    chosen = dict(NotificationPreference.objects.filter(user=user, kind__in=[k.code for k in kinds])
                  .values_list("kind", "frequency"))
    return {k.code: chosen.get(k.code, k.default_frequency) for k in kinds}


def preference_kinds_for(user, organisation) -> list[NotificationKind]:
    """The kinds listed on the user's preferences page (agents and residents differ)."""
    return kinds_for(is_agent=bool(roles_of(user, organisation)))

