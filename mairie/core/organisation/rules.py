"""Permission predicates of the organisation chart, and the abilities shown to a user."""

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


def organisation_abilities(user, organisation) -> dict[str, bool]:
    admin = is_org_administrator(user, organisation)
    return {
        "view_chart": bool(roles_of(user, organisation)),
        "manage_services": admin,
        "manage_members": admin,
        "change_settings": admin,
        "view_audit": admin,
    }
