"""Who may do what with the appointments.

Residents book, cancel and move their own appointments (with their account or the signed
link). Every agent of the organisation may book, cancel or move for a resident — on the
phone, at the counter. Taking slots out of the offer is for the agent whose slot it is and
for managers, directors, mediators and administrators; the plan itself (counters, hours,
types, availabilities) is the administrators' and directors'."""

from __future__ import annotations

from mairie.core.organisation.models import Role
from mairie.core.organisation.queries import roles_of

MANAGES = {Role.MANAGER, Role.DIRECTOR, Role.MEDIATOR, Role.ADMINISTRATOR}
PLANS = {Role.DIRECTOR, Role.ADMINISTRATOR}


def books_for_residents(user, organisation) -> bool:
    return bool(roles_of(user, organisation))


def manages_appointments(user, organisation) -> bool:
    return bool(roles_of(user, organisation) & MANAGES)


def may_block(user, slot) -> bool:
    return (slot.agent_id == getattr(user, "pk", None) and books_for_residents(
        user, slot.organisation)) or manages_appointments(user, slot.organisation)


def plans_appointments(user, organisation) -> bool:
    return bool(roles_of(user, organisation) & PLANS)
