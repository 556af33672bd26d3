"""Reads of the procedures engine for one user, always scoped to the request's organisation.

Permission filtering happens here, in SQL: a dossier of another applicant or of another
collectivité is simply not found (the views answer 404).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.contrib.postgres.search import SearchQueryField, SearchVectorField
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone

from mairie.core.organisation.queries import membership_pairs, roles_of

from .models import Audience, Dossier, Label, ProcedureDefinition


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


def procedures_to_file_for_someone(user, organisation) -> list[ProcedureDefinition]:
    """The open procedures for residents that `user` may file for one at the counter or on
    the phone (`services.may_file_for_someone`), ordered by title."""
    from .services import may_file_for_someone

    now = timezone.now()
    candidates = (ProcedureDefinition.objects
                  .filter(organisation=organisation, current_version__isnull=False)
                  .exclude(audience=Audience.AGENTS)
                  .filter(Q(opens_at__isnull=True) | Q(opens_at__lte=now))
                  .filter(Q(closes_at__isnull=True) | Q(closes_at__gt=now))
                  .select_related("current_version__workflow", "organisation")
                  .order_by("title"))
    return [definition for definition in candidates if may_file_for_someone(user, definition)]


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
    started in this browser (its id is in the session), or one the signed-in agent filed for
    its applicant (`filed_by`). Anything else is a 404."""
    condition = Q(pk__in=[])
    if getattr(user, "is_authenticated", False) and user.organisation_id == organisation.pk:
        condition |= Q(applicant=user) | Q(filed_by=user)
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


def anonymous_dossier_for_code(organisation, code: str) -> Dossier:
    """An anonymous dossier by its unguessable code (the "resume later" link of a draft, the
    tracking link once submitted); an account's dossier or a wrong code is a 404."""
    if not code or len(code) > 40:
        raise Http404
    try:
        return _dossiers(organisation).get(tracking_code=code, applicant__isnull=True)
    except Dossier.DoesNotExist:
        raise Http404 from None


def timeline_of(dossier: Dossier):
    return dossier.events.select_related("actor").order_by("at")


def files_of(dossier: Dossier):
    return dossier.files.select_related("stored_file").order_by("created_at")


# --- Processing (agents) --------------------------------------------------------------------

# Boxes of the inbox, in the order of its tabs. "all" is for directors and administrators only.
INBOX_BOXES = ("mine", "services", "validation", "opinions", "all")
DEFAULT_BOX = "services"
# The inbox counts exactly up to these numbers and says "more than" beyond (decision 0450):
# the tabs' badges, and the rows a filter pages through.
BOX_COUNT_CAP = 1_000
INBOX_COUNT_CAP = 10_000

# Sort keys of the inbox → ORDER BY (ties broken by the newest submission, then the id).
INBOX_SORTS = {
    "-submitted": ("-submitted_at",),
    "submitted": ("submitted_at",),
    "deadline": (F("deadline_at").asc(nulls_last=True), "-submitted_at"),
    "-deadline": (F("deadline_at").desc(nulls_last=True), "-submitted_at"),
    "-updated": ("-updated_at",),
    "number": ("number",),
    "-number": ("-number",),
}
DEFAULT_SORT = "-submitted"


def _leaving(transition: dict) -> list[str]:
    origin = transition.get("from")
    return list(origin) if isinstance(origin, list | tuple) else [str(origin or "")]


class AgentScope:
    """Which submitted dossiers of the organisation one agent may see, box by box, as SQL
    conditions. Computed from three queries (memberships, role mappings, the organisation's
    versions with their workflows), whatever the number of procedures and dossiers.

    - "services": dossiers of the versions on which the agent plays a workflow role
      (`RoleHoldings`, the rule `rules.abilities` applies); a workflow that defines no role
      at all is processed by the owning service's members;
    - "validation": dossiers in a state of kind "validation" that a transition leaving that
      state lets the agent decide (their role is the transition's);
    - "opinions": dossiers on which the opinion of one of the agent's services is awaited;
    - "mine": dossiers assigned to the agent, among those they may see;
    - "all": every dossier, for directors and administrators.
    Agents of a consulted service may also open (read) the dossiers their service was asked an
    opinion on, answered or not (`readable`)."""

    def __init__(self, user, organisation) -> None:
        from mairie.core.organisation.models import Role

        from .models import ProcedureVersion

        self.user = user
        self.organisation = organisation
        self.holdings = RoleHoldings.of(user, organisation)
        held_roles = {role for _service, role in self.holdings.memberships}
        self.is_agent = bool(self.holdings.memberships)
        self.may_see_all = bool(held_roles & {Role.DIRECTOR, Role.ADMINISTRATOR})
        self.role_versions: list = []       # versions on which the user plays a role
        self.definition_ids: set = set()    # their procedures
        self.validation: dict[tuple[str, ...], list] = {}  # validation states → versions
        if not self.is_agent:
            return
        versions = (ProcedureVersion.objects.filter(organisation=organisation)
                    .select_related("definition", "workflow")
                    .only("definition__service_id", "workflow__roles", "workflow__states",
                          "workflow__transitions")
                    .order_by())
        for version in versions:
            workflow = version.workflow
            roles = processing_roles(self.holdings, version)
            if not roles:
                continue
            self.role_versions.append(version.pk)
            self.definition_ids.add(version.definition_id)
            states = tuple(sorted(
                state["key"] for state in workflow.states
                if state.get("kind") == "validation" and state.get("key") and any(
                    transition.get("role") in roles and state["key"] in _leaving(transition)
                    for transition in workflow.transitions)))
            if states:
                self.validation.setdefault(states, []).append(version.pk)

    def _opinions(self, *, open_only: bool) -> Q:
        from .models import OpinionRequest

        asked = OpinionRequest.objects.filter(organisation=self.organisation,
                                              service_id__in=self.holdings.service_ids)
        if open_only:
            asked = asked.filter(answered_at__isnull=True)
        return Q(pk__in=asked.order_by().values("dossier_id"))

    @property
    def boxes(self) -> list[str]:
        """The boxes the agent has, in the order of the tabs."""
        if not self.is_agent:
            return []
        return [box for box in INBOX_BOXES if box != "all" or self.may_see_all]

    @property
    def readable(self) -> Q | None:
        """Every dossier the agent may open; None when there is none."""
        if not self.is_agent:
            return None
        if self.may_see_all:
            return Q()
        return Q(version_id__in=self.role_versions) | self._opinions(open_only=False)

    def condition(self, box: str) -> Q | None:
        """The SQL condition of `box`; None when the agent has no such box (never a silent
        widening: an unknown box or "all" for a plain agent is None)."""
        if box not in self.boxes:
            return None
        if box == "all":
            return Q()
        if box == "services":
            return Q(version_id__in=self.role_versions) if self.role_versions else None
        if box == "validation":
            condition = None
            for states, version_ids in self.validation.items():
                step = Q(version_id__in=version_ids, state__in=states)
                condition = step if condition is None else condition | step
            return condition
        if box == "opinions":
            return self._opinions(open_only=True)
        readable = self.readable
        return None if readable is None else Q(assigned_to=self.user) & readable

    def counts(self, cap: int = BOX_COUNT_CAP) -> dict[str, int]:
        """{box: number of submitted dossiers in it, at most cap + 1}, in one query (each box
        stops counting past `cap`: `core.web.pagination.capped_counts`)."""
        from mairie.core.web.pagination import capped_counts

        found = {box: 0 for box in self.boxes}
        if self.readable is None:
            return found
        submitted = (Dossier.objects.filter(organisation=self.organisation,
                                            submitted_at__isnull=False).filter(self.readable))
        querysets = {}
        for box in self.boxes:
            condition = self.condition(box)
            if condition is not None:
                querysets[box] = submitted.filter(condition)
        found.update(capped_counts(querysets, cap))
        return found


def processing_roles(holdings: RoleHoldings, version) -> set[str]:
    """The workflow roles the holder plays on the dossiers of `version` ({""} when its workflow
    defines no role and they belong to the owning service, which then processes it)."""
    definition, workflow = version.definition, version.workflow
    roles = holdings.roles_for(definition, workflow)
    if not roles and not workflow.role_keys() and definition.service_id in holdings.service_ids:
        roles = {""}
    return roles


def _agent_may_read(user, organisation, dossier: Dossier) -> bool:
    """`AgentScope.readable` for one dossier already read (its version, procedure and
    workflow with it): the same rule without reading every version of the organisation."""
    from mairie.core.organisation.models import Role

    from .models import OpinionRequest

    holdings = RoleHoldings.of(user, organisation)
    if not holdings.memberships:
        return False
    if {role for _service, role in holdings.memberships} & {Role.DIRECTOR, Role.ADMINISTRATOR}:
        return True
    if processing_roles(holdings, dossier.version):
        return True
    return OpinionRequest.objects.filter(organisation=organisation, dossier=dossier,
                                         service_id__in=holdings.service_ids).exists()


def _agent_dossier_condition(user, organisation, box: str, *,
                             scope: AgentScope | None = None) -> Q | None:
    """Which submitted dossiers `user` sees in `box`, as one SQL condition; None means none
    (see `AgentScope`)."""
    if (not getattr(user, "is_authenticated", False) or organisation is None
            or user.organisation_id != organisation.pk):
        return None
    return (scope or AgentScope(user, organisation)).condition(box)


def normalise_search_text(text: str) -> str:
    """Lower case, accents and ligatures removed, spaces collapsed: how `Dossier.search_text`
    is stored and how the inbox's search words are compared with it."""
    text = unicodedata.normalize("NFKD", str(text or "").casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.replace("œ", "oe").replace("æ", "ae")
    return " ".join(text.split())


class _SearchVector(Func):
    """The words of `search_text` as PostgreSQL indexes them (migration 0005): hyphens and
    "@" are spaces, so that "2026-000123" is found by "000123" and an address by its domain."""

    template = "to_tsvector('simple'::regconfig, translate(%(expressions)s, '-@', '  '))"
    output_field = SearchVectorField()


class _PrefixQuery(Func):
    """A searched word as a query on those words, its last part a prefix ("dupon" finds
    "dupont"): `plainto_tsquery` never fails on what an agent types."""

    template = ("(plainto_tsquery('simple'::regconfig, translate(%(expressions)s, '-@', '  '))"
                "::text || ':*')::tsquery")
    output_field = SearchQueryField()


class _Matches(Func):
    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def search_text_matches(alias: str, word: str) -> Q:
    """The condition "`word` (normalised) is in the dossier's `search_text`" for the inbox's
    search (decision 0451): on PostgreSQL the words' full-text index (a word or the start of
    one, found in milliseconds among a million dossiers); elsewhere a substring."""
    if connections[alias].vendor != "postgresql":
        return Q(search_text__contains=word)
    if not any(char.isalnum() for char in word):
        return Q()  # nothing to look for (e.g. a lone "-"): the word is ignored
    return Q(_Matches(_SearchVector(F("search_text")), _PrefixQuery(Value(word))))


def _agent_dossiers(organisation) -> QuerySet[Dossier]:
    return (Dossier.objects.filter(organisation=organisation, submitted_at__isnull=False)
            .select_related("version__definition__service", "version__workflow", "applicant",
                            "assigned_to"))


def dossiers_for_agent(user, organisation, *, box: str, procedure=None, state: str | None = None,
                       search: str = "", label=None, submitted_from=None, submitted_to=None,
                       deadline: str = "", assigned=None, sort: str = DEFAULT_SORT,
                       scope: AgentScope | None = None) -> QuerySet[Dossier]:
    """Submitted dossiers (never drafts) `user` sees in `box`, sorted by `sort` (a key of
    `INBOX_SORTS`, newest submission first by default).

    Filters run in SQL; the applicant, the assigned agent, the version, its procedure and
    workflow come in the same query and the labels in one more, so listing a page costs a
    fixed number of queries whatever the number of dossiers and labels.
    `procedure` is a ProcedureDefinition (or its pk), `label` a Label (or its pk);
    `submitted_from` / `submitted_to` are dates (inclusive, in the local time zone);
    `deadline` is "overdue", "week" (within 7 days) or "none"; `assigned` is a user (or pk) or
    "none". `search`: every word must be found in the dossier's indexed text (its number,
    the applicant's names and e-mail addresses, the answers — `services.update_search_text`),
    accents and case ignored."""
    condition = _agent_dossier_condition(user, organisation, box, scope=scope)
    if condition is None:
        return Dossier.objects.none()
    qs = (_agent_dossiers(organisation).filter(condition)
          .prefetch_related(Prefetch("labels", queryset=Label.objects.order_by("name")))
          .order_by(*INBOX_SORTS.get(sort, INBOX_SORTS[DEFAULT_SORT]), "-pk"))
    if procedure:
        qs = qs.filter(version__definition=procedure)
    if state:
        qs = qs.filter(state=state)
    if label:
        qs = qs.filter(pk__in=Dossier.labels.through.objects.filter(label=label)
                       .values("dossier_id"))
    if submitted_from:
        qs = qs.filter(submitted_at__gte=_start_of(submitted_from))
    if submitted_to:
        qs = qs.filter(submitted_at__lt=_start_of(submitted_to + timedelta(days=1)))
    now = timezone.now()
    if deadline == "overdue":
        qs = qs.filter(deadline_at__lt=now)
    elif deadline == "week":
        qs = qs.filter(deadline_at__gte=now, deadline_at__lte=now + timedelta(days=7))
    elif deadline == "none":
        qs = qs.filter(deadline_at__isnull=True)
    if assigned == "none":
        qs = qs.filter(assigned_to__isnull=True)
    elif assigned:
        qs = qs.filter(assigned_to=assigned)
    for word in (search or "").split()[:10]:
        qs = qs.filter(search_text_matches(qs.db, normalise_search_text(word)))
    return qs


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def dossiers_readable_by_agent(user, organisation, *, scope: AgentScope | None = None
                               ) -> QuerySet[Dossier]:
    """Every submitted dossier `user` may open (`dossier_for_agent`'s rule), e.g. to check a
    file download: `dossiers_readable_by_agent(u, org).filter(pk__in=ids).exists()`."""
    if (not getattr(user, "is_authenticated", False) or organisation is None
            or user.organisation_id != organisation.pk):
        return Dossier.objects.none()
    readable = (scope or AgentScope(user, organisation)).readable
    if readable is None:
        return Dossier.objects.none()
    return _agent_dossiers(organisation).filter(readable)


def dossier_for_agent(user, organisation, pk) -> Dossier:
    """One submitted dossier `user` may open: one on which they play a workflow role, any for
    directors and administrators, or one their service was asked an opinion on (read only:
    `rules.abilities` says what they may do). Anything else — a draft, another service's,
    another organisation's — is a 404, so that its existence is not revealed.

    The dossier is read by its id among the organisation's submitted ones, then the rule of
    `dossiers_readable_by_agent` is applied to it (`_agent_may_read`), which spares reading
    every version of the organisation on each dossier page."""
    if (not getattr(user, "is_authenticated", False) or organisation is None
            or user.organisation_id != organisation.pk):
        raise Http404
    from mairie.appointments.queries import dossier_has_appointments

    from .models import CorrectionRequest, DossierDocument, DossierValidation

    try:
        dossier = (_agent_dossiers(organisation).select_related("filed_by")
                   # What the dossier page reads only when there is some (one query less each).
                   .annotate(
                       has_validations=Exists(DossierValidation.objects.filter(
                           dossier_id=OuterRef("pk"))),
                       has_documents=Exists(DossierDocument.objects.filter(
                           dossier_id=OuterRef("pk"))),
                       has_open_correction=Exists(CorrectionRequest.objects.filter(
                           dossier_id=OuterRef("pk"), answered_at__isnull=True)),
                       has_appointments=dossier_has_appointments())
                   .get(pk=pk))
    except (Dossier.DoesNotExist, ValueError, ValidationError):
        raise Http404 from None
    if not _agent_may_read(user, organisation, dossier):
        raise Http404
    dossier.organisation = organisation  # the same row: spares reading it again
    return dossier


def procedures_for_agent(user, organisation, *, scope: AgentScope | None = None
                         ) -> QuerySet[ProcedureDefinition]:
    """Procedures offered in the inbox's filter: published ones whose dossiers the agent may
    see (every one for directors and administrators)."""
    qs = (ProcedureDefinition.objects
          .filter(organisation=organisation, current_version__isnull=False)
          .order_by("title"))
    scope = scope or AgentScope(user, organisation)
    if scope.may_see_all:
        return qs
    if not scope.is_agent:
        return qs.none()
    from .models import OpinionRequest

    consulted = (OpinionRequest.objects
                 .filter(organisation=organisation, service_id__in=scope.holdings.service_ids)
                 .order_by().values("dossier__version__definition_id"))
    return qs.filter(Q(pk__in=scope.definition_ids) | Q(pk__in=consulted))


def labels_for_agent(organisation, procedures: Iterable[ProcedureDefinition]
                     ) -> QuerySet[Label]:
    """Labels offered in the inbox's filter: the organisation's shared labels and those of
    the given procedures."""
    return (Label.objects.filter(organisation=organisation)
            .filter(Q(definition__isnull=True)
                    | Q(definition_id__in=[procedure.pk for procedure in procedures]))
            .order_by("name"))


def agents_of(organisation):
    """The organisation's agents (members of a service), by name, for the "assigned" filter."""
    from django.contrib.auth import get_user_model

    from mairie.core.organisation.models import Membership

    members = Membership.objects.filter(organisation=organisation).values("user_id")
    return (get_user_model().objects.filter(organisation=organisation, pk__in=members)
            .order_by("last_name", "first_name", "email"))


# --- Workflow roles ---------------------------------------------------------------------------


# Bumped by every save or deletion of a role mapping in this process (`apps.py`), so that
# the holdings remembered on a user instance are computed again after a change.
_mapping_generation = [0]


def role_mappings_changed(**_kwargs) -> None:
    _mapping_generation[0] += 1


class RoleHoldings:
    """Which workflow roles one agent plays, for every procedure of the organisation, from two
    queries (memberships and role mappings), whatever the number of procedures.

    A workflow role mapped for a procedure (`WorkflowRoleMapping`) is played by the holders of
    the mapping's membership role in the mapping's service (any role when it names none). A
    role left unmapped is played by every member of the procedure's owning service.

    `RoleHoldings.of(user, organisation)` computes them once per user instance (a request
    has one): the inbox, the dossier page and its abilities share them."""

    @classmethod
    def of(cls, user, organisation) -> RoleHoldings:
        key = (getattr(organisation, "pk", None), _mapping_generation[0],
               frozenset(membership_pairs(user)))
        cached = getattr(user, "_mairie_role_holdings", None)
        if cached is None or cached[0] != key:
            cached = (key, cls(user, organisation))
            if getattr(user, "is_authenticated", False):
                user._mairie_role_holdings = cached
        return cached[1]

    def __init__(self, user, organisation) -> None:
        from .models import WorkflowRoleMapping

        self.memberships: set[tuple] = set()
        self.mapped: dict = {}        # definition id → roles the user plays through a mapping
        self.mapped_roles: dict = {}  # definition id → every role that has a mapping
        self.rows: dict | None = None  # definition id → [(role, service id, membership role)]
        if (not getattr(user, "is_authenticated", False) or organisation is None
                or user.organisation_id != organisation.pk):
            return
        self.memberships = set(membership_pairs(user))
        services = {service for service, _role in self.memberships}
        if not services:
            return
        self.rows = {}
        for definition_id, role, service_id, membership_role in (
                WorkflowRoleMapping.objects.filter(organisation=organisation).order_by()
                .values_list("definition_id", "role", "service_id", "membership_role")):
            self.rows.setdefault(definition_id, []).append((role, service_id, membership_role))
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
            roles |= {role for role in workflow.role_keys()
                      if role not in self.mapped_roles.get(definition.pk, set())}
        return roles & set(workflow.role_keys())


def workflow_roles_of(user, dossier: Dossier) -> set[str]:
    """The workflow roles `user` plays on `dossier`, plus "applicant" for its applicant."""
    roles = RoleHoldings.of(user, dossier.organisation).roles_for(dossier.version.definition,
                                                               dossier.version.workflow)
    if getattr(user, "is_authenticated", False) and dossier.applicant_id == user.pk:
        roles.add("applicant")
    return roles


# --- Workflow editor ----------------------------------------------------------------------------


def workflows_for_editor(user, organisation):
    """The organisation's workflows for someone who may edit them (`rules.may_edit_workflows`),
    by name; nothing for anyone else."""
    from .models import Workflow
    from .rules import may_edit_workflows

    if not may_edit_workflows(user, organisation):
        return Workflow.objects.none()
    return Workflow.objects.filter(organisation=organisation).order_by("name", "pk")


def workflow_for_editor(user, organisation, pk):
    """One workflow of the organisation (404 otherwise: another collectivité's, unknown)."""
    from .models import Workflow

    try:
        return workflows_for_editor(user, organisation).get(pk=pk)
    except (Workflow.DoesNotExist, ValueError):
        raise Http404 from None


def procedures_using_workflows(organisation, workflow_ids) -> dict:
    """{workflow id: [procedure, …]} for procedures having a version (published or not) on one
    of the workflows, in one query; `in_use` on each procedure says whether its current
    (published) version runs on it."""
    found: dict = {}
    rows = (ProcedureDefinition.objects
            .filter(organisation=organisation, versions__workflow_id__in=list(workflow_ids))
            .values_list("versions__workflow_id", "pk", "title", "slug",
                         "current_version__workflow_id")
            .order_by("title").distinct())
    seen = set()
    for workflow_id, pk, title, slug, current_workflow_id in rows:
        if (workflow_id, pk) in seen:
            continue
        seen.add((workflow_id, pk))
        found.setdefault(workflow_id, []).append(
            {"pk": pk, "title": title, "slug": slug, "current": current_workflow_id == workflow_id})
    return found


def dossiers_by_state(workflow) -> dict[str, int]:
    """How many dossiers (drafts included) of any version on `workflow` are in each state."""
    from django.db.models import Count

    return dict(Dossier.objects.filter(organisation_id=workflow.organisation_id,
                                       version__workflow=workflow)
                .order_by().values("state").annotate(n=Count("pk")).values_list("state", "n"))


# --- Builder ------------------------------------------------------------------------------------


def procedures_for_designer(user, organisation) -> QuerySet[ProcedureDefinition]:
    """The procedures `user` may design (`rules.may_design`): all of the organisation for its
    administrators, those owned by a service they manage or direct otherwise. Each row carries
    `draft_number` (the unpublished version being prepared, or None), in one query."""
    from django.db.models import OuterRef, Subquery

    from mairie.core.organisation.models import Membership
    from mairie.core.organisation.queries import is_org_administrator

    from .models import ProcedureVersion
    from .rules import DESIGNER_ROLES

    if (not getattr(user, "is_authenticated", False) or organisation is None
            or user.organisation_id != organisation.pk):
        return ProcedureDefinition.objects.none()
    qs = ProcedureDefinition.objects.filter(organisation=organisation)
    if not is_org_administrator(user, organisation):
        qs = qs.filter(service__in=Membership.objects.filter(
            user=user, organisation=organisation, role__in=DESIGNER_ROLES).values("service"))
    drafts = (ProcedureVersion.objects.filter(definition=OuterRef("pk"), published_at__isnull=True)
              .order_by("-number").values("number")[:1])
    return (qs.annotate(draft_number=Subquery(drafts))
            .select_related("service", "theme", "current_version")
            .order_by("title", "pk"))


def procedure_for_designer(user, organisation, pk) -> ProcedureDefinition:
    """One procedure `user` may design; 404 otherwise (another service's, organisation's)."""
    try:
        return (procedures_for_designer(user, organisation)
                .select_related("current_version__workflow").get(pk=pk))
    except (ProcedureDefinition.DoesNotExist, ValueError):
        raise Http404 from None


def versions_of(definition: ProcedureDefinition):
    """The versions of a procedure, newest first, with their publisher."""
    return definition.versions.select_related("published_by", "workflow").order_by("-number")


# --- Batch work (batches.py) --------------------------------------------------------------------


def batches_for_agent(user, organisation):
    """The batches `user` started in this organisation, newest first (nobody else's)."""
    from .models_batch import Batch

    if (not getattr(user, "is_authenticated", False) or organisation is None
            or user.organisation_id != organisation.pk):
        return Batch.objects.none()
    return Batch.objects.filter(organisation=organisation, created_by=user).order_by(
        "-created_at", "-pk")


def batch_for_agent(user, organisation, pk):
    """One batch of `user` (404 for another agent's, another organisation's, unknown)."""
    from .models_batch import Batch

    try:
        return batches_for_agent(user, organisation).get(pk=pk)
    except (Batch.DoesNotExist, ValueError, ValidationError):
        raise Http404 from None


def batch_problems(batch):
    """The batch's items that failed or changed nothing, with their dossier's number."""
    from .models_batch import BatchItem

    return (BatchItem.objects.filter(batch=batch, status__in=[BatchItem.Status.FAILED,
                                                              BatchItem.Status.SKIPPED])
            .select_related("dossier").only("status", "reason", "processed_at", "position",
                                            "dossier__number", "dossier__id")
            .order_by("status", "position"))
