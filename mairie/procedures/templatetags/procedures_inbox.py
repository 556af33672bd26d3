"""Template helpers of the agents' inbox: a deadline said the way people say it."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


def deadline_status(deadline_at, now=None) -> tuple[str, bool]:
    """(text, overdue) for a deadline: "aujourd'hui", "demain", "dans 3 jours", "dépassée
    aujourd'hui", "dépassée de 2 jours". Days are counted in the local calendar."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    day = timezone.localdate(deadline_at)
    if deadline_at <= now:
        late = (today - day).days
        if late <= 0:
            return _("dépassée aujourd'hui"), True
        return ngettext("dépassée de %(n)s jour", "dépassée de %(n)s jours", late) % {
            "n": late}, True
    left = (day - today).days
    if left <= 0:
        return _("aujourd'hui"), False
    if left == 1:
        return _("demain"), False
    return ngettext("dans %(n)s jour", "dans %(n)s jours", left) % {"n": left}, False


@register.filter
def deadline_text(deadline_at) -> str:
    return deadline_status(deadline_at)[0] if deadline_at else ""


@register.filter
def deadline_overdue(deadline_at) -> bool:
    return bool(deadline_at) and deadline_status(deadline_at)[1]
