"""Permission predicates of the organisation chart, and the abilities shown to a user.

Who may do what (see docs/tenancy-and-roles.md):
- every agent of an organisation (anyone holding a role in one of its services) may *read* the
  chart: which services exist, who works in them and with which role — agents need to know
  whom to ask;
- only its administrators may create, change or delete services and memberships, and change the
  organisation's settings. Residents, and anyone from another organisation, see nothing.
"""

import rules

from .queries import is_org_administrator, roles_of


@rules.predicate
def is_agent_of_object_org(user, obj) -> bool:
    return obj is not None and bool(roles_of(user, obj.organisation))


@rules.predicate
def is_administrator_of_object_org(user, obj) -> bool:
    return obj is not None and is_org_administrator(user, obj.organisation)


rules.add_perm("organisation.view_service", is_agent_of_object_org)
rules.add_perm("organisation.change_service", is_administrator_of_object_org)
rules.add_perm("organisation.manage_members", is_administrator_of_object_org)


def can_view_chart(user, organisation) -> bool:
    return bool(roles_of(user, organisation))


def can_manage_chart(user, organisation) -> bool:
    return is_org_administrator(user, organisation)


def organisation_abilities(user, organisation) -> dict[str, bool]:
    admin = is_org_administrator(user, organisation)
    return {
        "view_chart": can_view_chart(user, organisation),
        "manage_services": admin,
        "manage_members": admin,
        "change_settings": admin,
        "view_audit": admin,
    }
