"""Who may do what with a dossier, in one place (views and templates read `abilities`).

The applicant edits and submits their draft, then reads it. Agents process a submitted dossier
through the workflow roles they play on it (`queries.RoleHoldings`); directors and
administrators read every dossier; an agent of a consulted service reads the dossier and gives
the opinion. The agents' queries (`queries.dossiers_readable_by_agent`) apply the same rule in
SQL.
"""

from __future__ import annotations

import rules

from mairie.core.organisation.models import Membership, Role

from .models import Dossier


@rules.predicate
def is_applicant(user, dossier: Dossier | None) -> bool:
    return (dossier is not None and getattr(user, "is_authenticated", False)
            and dossier.applicant_id == user.pk)


@rules.predicate
def reads_every_dossier(user, dossier: Dossier | None) -> bool:
    """Directors and administrators of the dossier's organisation (the inbox's "Tous")."""
    if dossier is None or not getattr(user, "is_authenticated", False):
        return False
    if user.organisation_id != dossier.organisation_id:
        return False
    return Membership.objects.filter(
        user=user, organisation_id=dossier.organisation_id,
        role__in=[Role.DIRECTOR, Role.ADMINISTRATOR]).exists()


@rules.predicate
def processes(user, dossier: Dossier | None) -> bool:
    from .queries import workflow_roles_of

    return (dossier is not None and dossier.submitted_at is not None
            and bool(workflow_roles_of(user, dossier) - {"applicant"}))


@rules.predicate
def is_draft(user, dossier: Dossier | None) -> bool:
    return dossier is not None and dossier.submitted_at is None


rules.add_perm("procedures.view_dossier", is_applicant | processes | reads_every_dossier)
rules.add_perm("procedures.change_dossier", is_applicant & is_draft)


def consulted_for_opinion(user, dossier: Dossier) -> bool:
    """`user` belongs to a service whose opinion was asked on `dossier`."""
    from .models import OpinionRequest

    if not getattr(user, "is_authenticated", False) or user.organisation_id != \
            dossier.organisation_id:
        return False
    return OpinionRequest.objects.filter(
        dossier=dossier, service__memberships__user=user).exists()


def abilities(user, dossier: Dossier, *, anonymous_owner: bool = False) -> dict[str, bool]:
    """What `user` may do with `dossier`. `anonymous_owner` is True when the view found the
    draft through the browser session of the anonymous visitor who started it.

    Agents process a submitted dossier when they play at least one of its workflow roles
    (`queries.workflow_roles_of`); an agent of a consulted service may read it and answer the
    opinion asked of their service, nothing else."""
    from .queries import workflow_roles_of

    draft = dossier.submitted_at is None
    # The agent who files for the applicant at the counter acts as the applicant does.
    filer = bool(dossier.filed_by_id) and dossier.filed_by_id == getattr(user, "pk", None)
    owner = anonymous_owner or is_applicant(user, dossier) or filer
    roles = workflow_roles_of(user, dossier) - {"applicant"} if not draft else set()
    process = bool(roles)
    expert = not draft and not process and consulted_for_opinion(user, dossier)
    return {
        "view": (owner or process or expert
                 or (not draft and bool(reads_every_dossier(user, dossier)))),
        "edit": owner and draft,
        "submit": owner and draft,
        "receipt": owner and not draft,
        "process": process,
        "annotate": process,
        "message": process,
        "label": process,
        "assign": process,
        "request_opinion": process,
        "answer_opinion": expert or process,
    }


# --- Workflow editor ----------------------------------------------------------------------------


def may_edit_workflows(user, organisation) -> bool:
    """Administrators and directors of the organisation edit its processing workflows."""
    from mairie.core.organisation.models import Role
    from mairie.core.organisation.queries import roles_of

    if organisation is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(roles_of(user, organisation) & {Role.ADMINISTRATOR, Role.DIRECTOR})


# --- Builder (designing procedures) ---------------------------------------------------------

DESIGNER_ROLES = frozenset({"manager", "director"})


def may_design(user, definition_or_none, organisation) -> bool:
    """Whether `user` may design `definition_or_none` (None: create a new procedure) in
    `organisation`: its administrators always; the managers and directors of the procedure's
    owning service (of any service, to create one)."""
    from mairie.core.organisation.queries import is_org_administrator

    if (organisation is None or not getattr(user, "is_authenticated", False)
            or user.organisation_id != organisation.pk):
        return False
    if definition_or_none is not None and definition_or_none.organisation_id != organisation.pk:
        return False
    if is_org_administrator(user, organisation):
        return True
    held = Membership.objects.filter(user=user, organisation=organisation,
                                     role__in=DESIGNER_ROLES)
    if definition_or_none is not None:
        held = held.filter(service_id=definition_or_none.service_id)
    return held.exists()
