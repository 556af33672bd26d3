"""Reads of the procedures engine for one user, always scoped to the request's organisation.

Permission filtering happens here, in SQL: a dossier of another applicant or of another
collectivité is simply not found (the views answer 404).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from mairie.core.organisation.queries import roles_of

from .models import Audience, Dossier, ProcedureDefinition


def _audiences_for(user, organisation) -> list[str]:
    """Procedures for signed-in residents are listed to everyone (their page invites to log
    in); internal procedures only to the organisation's agents."""
    audiences = [Audience.ANYONE, Audience.RESIDENTS]
    if (getattr(user, "is_authenticated", False) and user.organisation_id == organisation.pk
            and roles_of(user, organisation)):
        audiences.append(Audience.AGENTS)
    return audiences


def catalogue_for(user, organisation, search: str = "") -> QuerySet[ProcedureDefinition]:
    """Published, open procedures `user` may file, with their theme, ordered for grouping by
    theme. `search` matches the title and the description (case-insensitive)."""
    now = timezone.now()
    qs = (ProcedureDefinition.objects
          .filter(organisation=organisation, current_version__isnull=False,
                  audience__in=_audiences_for(user, organisation))
          .filter(Q(opens_at__isnull=True) | Q(opens_at__lte=now))
          .filter(Q(closes_at__isnull=True) | Q(closes_at__gt=now))
          .select_related("theme", "service")
          .order_by("theme__position", "theme__name", "title"))
    search = (search or "").strip()
    if search:
        for word in search.split()[:10]:
            qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return qs


def procedure_for(user, organisation, slug: str) -> ProcedureDefinition:
    """A published procedure's page (even closed: its page says so); 404 when it is
    unpublished, of another organisation, or for agents only and `user` is not one."""
    try:
        return (ProcedureDefinition.objects
                .filter(organisation=organisation, current_version__isnull=False,
                        audience__in=_audiences_for(user, organisation))
                .select_related("theme", "service", "current_version__workflow")
                .get(slug=slug))
    except ProcedureDefinition.DoesNotExist:
        raise Http404 from None


def _dossiers(organisation) -> QuerySet[Dossier]:
    return (Dossier.objects.filter(organisation=organisation)
            .select_related("version__definition", "version__workflow"))


def dossiers_of_applicant(user, organisation) -> QuerySet[Dossier]:
    """The signed-in resident's own dossiers in this organisation, newest first."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id != organisation.pk:
        return Dossier.objects.none()
    return _dossiers(organisation).filter(applicant=user).order_by("-updated_at")


def dossier_for_applicant(user, organisation, pk, *, session_drafts: Iterable[str] = ()
                          ) -> Dossier:
    """One dossier its applicant may see: their own when signed in, or an anonymous draft
    started in this browser (its id is in the session). Anything else is a 404."""
    condition = Q(pk__in=[])
    if getattr(user, "is_authenticated", False) and user.organisation_id == organisation.pk:
        condition |= Q(applicant=user)
    drafts = [str(d) for d in session_drafts]
    if drafts:
        condition |= Q(pk__in=drafts, applicant__isnull=True)
    try:
        return _dossiers(organisation).filter(condition).get(pk=pk)
    except (Dossier.DoesNotExist, ValueError):
        raise Http404 from None


def dossier_for_tracking_code(organisation, code: str) -> Dossier:
    """A submitted dossier by its unguessable tracking code (the link given on filing)."""
    if not code or len(code) > 40:
        raise Http404
    try:
        return _dossiers(organisation).get(tracking_code=code, submitted_at__isnull=False)
    except Dossier.DoesNotExist:
        raise Http404 from None


def timeline_of(dossier: Dossier):
    return dossier.events.select_related("actor").order_by("at")


def files_of(dossier: Dossier):
    return dossier.files.select_related("stored_file").order_by("created_at")
