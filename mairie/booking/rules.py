"""Who may do what with the bookable resources.

- Every agent of the organisation sees the resources they may book, those of their own
  services, and, for directors and administrators, all of them.
- Booking follows the resource's rights (`BookingRight`): no right line means every agent of
  the organisation; otherwise one line must match a (service, role) the agent holds.
- A request awaiting approval is decided by the approving service's holders of the approving
  role (the owning service and managers by default) and by administrators.
- The resource's owning service (any role) and administrators manage the resource's
  reservations and lend its equipment; a booker cancels their own reservations."""

from __future__ import annotations

from mairie.core.organisation.models import Role
from mairie.core.organisation.queries import membership_pairs, roles_of

SEES_EVERY_RESOURCE = {Role.DIRECTOR, Role.ADMINISTRATOR}


def is_agent_of(user, organisation) -> bool:
    return bool(roles_of(user, organisation))


def pairs_of(user, organisation) -> frozenset:
    """(service id, role) of every role `user` holds in `organisation`; empty elsewhere."""
    if not is_agent_of(user, organisation):
        return frozenset()
    return membership_pairs(user)


def sees_every_resource(user, organisation) -> bool:
    return bool(roles_of(user, organisation) & SEES_EVERY_RESOURCE)


def right_matches(right, pairs) -> bool:
    return any((right.service_id is None or right.service_id == service_id)
               and (not right.role or right.role == role) for service_id, role in pairs)


def may_book(user, resource) -> bool:
    pairs = pairs_of(user, resource.organisation)
    if not pairs or not resource.is_active:
        return False
    rights = list(resource.rights.all())
    return not rights or any(right_matches(right, pairs) for right in rights)


def manages(user, resource) -> bool:
    """Members of the owning service, and administrators."""
    organisation = resource.organisation
    if Role.ADMINISTRATOR in roles_of(user, organisation):
        return True
    return any(service_id == resource.service_id
               for service_id, _role in pairs_of(user, organisation))


def may_approve(user, resource) -> bool:
    organisation = resource.organisation
    if Role.ADMINISTRATOR in roles_of(user, organisation):
        return True
    return (resource.approving_service_id, resource.approver_role) in pairs_of(user,
                                                                               organisation)


def may_cancel(user, reservation) -> bool:
    return reservation.booker_id == user.pk or manages(user, reservation.resource) \
        or may_approve(user, reservation.resource)


def may_lend(user, resource) -> bool:
    return manages(user, resource)


def may_see_reservation(user, reservation) -> bool:
    return reservation.booker_id == user.pk or manages(user, reservation.resource) \
        or may_approve(user, reservation.resource) \
        or sees_every_resource(user, reservation.organisation)
