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


def mail_services_of(user, organisation) -> set | None:
    """The services whose mail the agent reads and answers: their own; None means every
    service (directors and administrators, like the interactions)."""
    if not is_agent_of(user, organisation):
        return set()
    if reads_every_interaction(user, organisation):
        return None
    return services_of(user, organisation)


def may_handle_mail(user, message) -> bool:
    """Read, attach and answer one mail of a service address (decision 0467)."""
    services = mail_services_of(user, message.organisation)
    return services is None or message.service_id in services


def manages_mailboxes(user, organisation) -> bool:
    """Which addresses deliver to which service is set by the organisation's administrators."""
    from mairie.core.organisation.queries import is_org_administrator

    return is_org_administrator(user, organisation)


def may_scan(user, organisation) -> bool:
    """Agents scan documents at the counter for one of their services (decision 0469)."""
    return bool(services_of(user, organisation))


def may_read_scan_again(user, scan) -> bool:
    """Reading a document again is for its service, directors and administrators."""
    organisation = scan.organisation
    return reads_every_interaction(user, organisation) or \
        scan.service_id in services_of(user, organisation)
