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


# --- The agents' desk (decision 0485) ----------------------------------------------------
#
# A counter's desk (its day and week, check-in, no-show, booking and cancelling for a
# resident, linking a dossier, the day's export) is for the agents of the services whose
# agents receive there — an agent of a type offered at the counter, or with availabilities
# at it — and, at every counter of the organisation, for directors, mediators (accueil,
# France Services) and administrators. An agent of another service sees nothing of it.

SEES_EVERY_DESK = {Role.DIRECTOR, Role.MEDIATOR, Role.ADMINISTRATOR}


def sees_every_desk(user, organisation) -> bool:
    return bool(roles_of(user, organisation) & SEES_EVERY_DESK)


def desk_counter_condition(user, organisation):
    """Which counters of `organisation` `user` works the desk of, as a condition on
    `Counter`: None for none, an empty `Q()` for all of them."""
    from django.db.models import Exists, OuterRef, Q

    from mairie.core.organisation.models import Membership
    from mairie.core.organisation.queries import membership_pairs

    from .models import AgentAvailability, AppointmentType

    if not books_for_residents(user, organisation):
        return None
    if sees_every_desk(user, organisation):
        return Q()
    service_ids = {service_id for service_id, _role in membership_pairs(user)}
    colleagues = Membership.objects.filter(organisation=organisation,
                                           service_id__in=service_ids).values("user_id")
    return (Q(Exists(AgentAvailability.objects.filter(counter=OuterRef("pk"),
                                                      agent_id__in=colleagues)))
            | Q(Exists(AppointmentType.agents.through.objects.filter(
                appointmenttype__counters=OuterRef("pk"), user_id__in=colleagues))))


def works_at_desk(user, counter) -> bool:
    """`user` may read and act on the desk of `counter` (one query, none for directors,
    mediators and administrators)."""
    from .models import Counter

    condition = desk_counter_condition(user, counter.organisation)
    if condition is None:
        return False
    if not condition:
        return True
    return Counter.objects.filter(condition, pk=counter.pk,
                                  organisation=counter.organisation).exists()


# --- The plan's administration (decision 0486) -------------------------------------------
#
# Counters, opening hours, exceptions, types, agents' availabilities and absences: the
# organisation's administrators and its direction (`PLANS`, above). A plan shapes the
# offer of every service and the agents' time: it is not a service's own setting.


def may_plan(user, organisation) -> bool:
    return plans_appointments(user, organisation)
