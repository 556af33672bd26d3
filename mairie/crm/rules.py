"""Who may do what with the citizen records (GRC).

Every agent of the organisation may find a resident and read who they are and how to reach
them: whoever answers at the counter or on the phone needs it. What happened with them is read
per item: a dossier as the procedures allow (`dossiers_readable_by_agent`), an interaction by
the members of the service that logged it and by directors and administrators. Merging two
records is for mediators, managers, directors and administrators; help requests are answered
by mediators and administrators."""

from __future__ import annotations

from mairie.core.organisation.models import Role
from mairie.core.organisation.queries import membership_pairs, roles_of

READS_EVERY_INTERACTION = {Role.DIRECTOR, Role.ADMINISTRATOR}
MERGES = {Role.MEDIATOR, Role.MANAGER, Role.DIRECTOR, Role.ADMINISTRATOR}
HELPS = {Role.MEDIATOR, Role.ADMINISTRATOR}


def is_agent_of(user, organisation) -> bool:
    return bool(roles_of(user, organisation))


def reads_every_interaction(user, organisation) -> bool:
    return bool(roles_of(user, organisation) & READS_EVERY_INTERACTION)


def services_of(user, organisation) -> set:
    """The services the agent belongs to (any role)."""
    if not roles_of(user, organisation):
        return set()
    return {service_id for service_id, _role in membership_pairs(user)}


def may_merge(user, organisation) -> bool:
    return bool(roles_of(user, organisation) & MERGES)


def handles_help_requests(user, organisation) -> bool:
    """Mediators (and administrators) answer the help requests."""
    return bool(roles_of(user, organisation) & HELPS)
