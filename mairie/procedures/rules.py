"""Who may do what with a dossier, in one place (views and templates read `abilities`).

In this first slice only the applicant acts: they edit and submit their draft, then read it.
Agents of the owning service may read a submitted dossier (processing comes later).
"""

from __future__ import annotations

import rules

from mairie.core.organisation.models import Membership

from .models import Dossier


@rules.predicate
def is_applicant(user, dossier: Dossier | None) -> bool:
    return (dossier is not None and getattr(user, "is_authenticated", False)
            and dossier.applicant_id == user.pk)


@rules.predicate
def is_agent_of_owning_service(user, dossier: Dossier | None) -> bool:
    if dossier is None or not getattr(user, "is_authenticated", False):
        return False
    if user.organisation_id != dossier.organisation_id:
        return False
    return Membership.objects.filter(user=user, organisation_id=dossier.organisation_id,
                                     service_id=dossier.version.definition.service_id).exists()


@rules.predicate
def is_draft(user, dossier: Dossier | None) -> bool:
    return dossier is not None and dossier.submitted_at is None


rules.add_perm("procedures.view_dossier", is_applicant | is_agent_of_owning_service)
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

    owner = anonymous_owner or is_applicant(user, dossier)
    draft = dossier.submitted_at is None
    roles = workflow_roles_of(user, dossier) - {"applicant"} if not draft else set()
    process = bool(roles)
    expert = not draft and not process and consulted_for_opinion(user, dossier)
    return {
        "view": owner or process or expert or bool(is_agent_of_owning_service(user, dossier)),
        "edit": owner and draft,
        "submit": owner and draft,
        "receipt": owner and not draft,
        "process": process,
        "annotate": process or expert,
        "message": process,
        "label": process,
        "assign": process,
        "request_opinion": process,
        "answer_opinion": expert or process,
    }
