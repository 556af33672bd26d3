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
    audiences: list[str] = [Audience.ANYONE, Audience.RESIDENTS]
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


# --- Processing (agents) --------------------------------------------------------------------

INBOX_BOXES = ("services", "all")


def _agent_dossier_condition(user, organisation, box: str) -> Q | None:
    """Which submitted dossiers `user` may process, as one SQL condition; None means none.

    "services": procedures owned by a service where the user holds a role, or whose workflow
    roles are mapped to such a service (`WorkflowRoleMapping`, with the mapping's role in that
    service when it names one). "all": every dossier of the organisation, for directors and
    administrators only (anyone else gets nothing, never a silent widening)."""
    from mairie.core.organisation.models import Membership, Role

    from .models import WorkflowRoleMapping

    if (not getattr(user, "is_authenticated", False) or organisation is None
            or user.organisation_id != organisation.pk):
        return None
    held = list(Membership.objects.filter(user=user, organisation=organisation)
                .order_by().values_list("service_id", "role"))
    if not held:
        return None
    if box == "all":
        if {role for _service, role in held} & {Role.DIRECTOR, Role.ADMINISTRATOR}:
            return Q()
        return None
    if box != "services":
        return None
    service_ids = {service for service, _role in held}
    mapped = Q(service_id__in=service_ids, membership_role="")
    for service, role in held:
        mapped |= Q(service_id=service, membership_role=role)
    mapped_definitions = (WorkflowRoleMapping.objects.filter(organisation=organisation)
                          .filter(mapped).values("definition_id"))
    return (Q(version__definition__service_id__in=service_ids)
            | Q(version__definition_id__in=mapped_definitions))


def dossiers_for_agent(user, organisation, *, box: str, procedure=None, state: str | None = None,
                       search: str = "") -> QuerySet[Dossier]:
    """Submitted dossiers (never drafts) `user` may process in `box`, newest submission first.

    Filters run in SQL; the applicant, the version, its procedure and workflow come in the same
    query, so listing a page costs a fixed number of queries whatever the number of dossiers.
    `procedure` is a ProcedureDefinition (or its pk); `search` matches the number, the
    applicant's name and e-mail address (every word must match somewhere)."""
    condition = _agent_dossier_condition(user, organisation, box)
    if condition is None:
        return Dossier.objects.none()
    qs = (Dossier.objects.filter(organisation=organisation, submitted_at__isnull=False)
          .filter(condition)
          .select_related("version__definition__service", "version__workflow", "applicant")
          .order_by("-submitted_at", "-pk"))
    if procedure:
        qs = qs.filter(version__definition=procedure)
    if state:
        qs = qs.filter(state=state)
    for word in (search or "").split()[:10]:
        qs = qs.filter(Q(number__icontains=word) | Q(applicant_email__icontains=word)
                       | Q(applicant__email__icontains=word)
                       | Q(applicant__first_name__icontains=word)
                       | Q(applicant__last_name__icontains=word))
    return qs


def dossier_for_agent(user, organisation, pk) -> Dossier:
    """One submitted dossier `user` may process (their services', or any for directors and
    administrators); anything else — a draft, another service's, another organisation's — is a
    404, so that its existence is not revealed."""
    for box in ("services", "all"):
        try:
            return dossiers_for_agent(user, organisation, box=box).get(pk=pk)
        except (Dossier.DoesNotExist, ValueError):
            continue
    raise Http404


def procedures_for_agent(user, organisation) -> QuerySet[ProcedureDefinition]:
    """Procedures offered in the inbox's filter: those with a published version."""
    return (ProcedureDefinition.objects
            .filter(organisation=organisation, current_version__isnull=False)
            .order_by("title"))


# --- Workflow roles ---------------------------------------------------------------------------


class RoleHoldings:
    """Which workflow roles one agent plays, for every procedure of the organisation, from two
    queries (memberships and role mappings), whatever the number of procedures.

    A workflow role mapped for a procedure (`WorkflowRoleMapping`) is played by the holders of
    the mapping's membership role in the mapping's service (any role when it names none). A
    role left unmapped is played by every member of the procedure's owning service."""

    def __init__(self, user, organisation) -> None:
        from mairie.core.organisation.models import Membership

        from .models import WorkflowRoleMapping

        self.memberships: set[tuple] = set()
        self.mapped: dict = {}        # definition id → roles the user plays through a mapping
        self.mapped_roles: dict = {}  # definition id → every role that has a mapping
        if (not getattr(user, "is_authenticated", False) or organisation is None
                or user.organisation_id != organisation.pk):
            return
        self.memberships = set(Membership.objects.filter(user=user, organisation=organisation)
                               .order_by().values_list("service_id", "role"))
        services = {service for service, _role in self.memberships}
        for definition_id, role, service_id, membership_role in (
                WorkflowRoleMapping.objects.filter(organisation=organisation).order_by()
                .values_list("definition_id", "role", "service_id", "membership_role")):
            self.mapped_roles.setdefault(definition_id, set()).add(role)
            if service_id in services and (
                    not membership_role or (service_id, membership_role) in self.memberships):
                self.mapped.setdefault(definition_id, set()).add(role)

    @property
    def service_ids(self) -> set:
        return {service for service, _role in self.memberships}

    def roles_for(self, definition, workflow) -> set[str]:
        """The roles of `workflow` the user plays for `definition` (a ProcedureDefinition)."""
        roles = set(self.mapped.get(definition.pk, set()))
        if definition.service_id in self.service_ids:
            roles |= {role for role in workflow.roles
                      if role not in self.mapped_roles.get(definition.pk, set())}
        return roles & set(workflow.roles)


def workflow_roles_of(user, dossier: Dossier) -> set[str]:
    """The workflow roles `user` plays on `dossier`, plus "applicant" for its applicant."""
    roles = RoleHoldings(user, dossier.organisation).roles_for(dossier.version.definition,
                                                               dossier.version.workflow)
    if getattr(user, "is_authenticated", False) and dossier.applicant_id == user.pk:
        roles.add("applicant")
    return roles
