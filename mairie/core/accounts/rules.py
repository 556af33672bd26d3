"""Permission predicates of the accounts module, and the abilities shown on its pages."""

import rules

from mairie.core.organisation.queries import is_org_administrator


@rules.predicate
def is_same_user(actor, user) -> bool:
    return actor is not None and user is not None and actor.pk == user.pk


@rules.predicate
def holds_no_role(actor, user) -> bool:
    """Agents keep their account while they hold roles: an administrator removes the roles
    first (docs/decisions/0100-account-deletion.md)."""
    return user is not None and not user.memberships.exists()


@rules.predicate
def is_platform_account(actor, user) -> bool:
    return user is not None and (user.is_superuser or user.is_staff)


@rules.predicate
def administers_provider_organisation(actor, provider) -> bool:
    return provider is not None and is_org_administrator(actor, provider.organisation)


can_delete_account = (rules.is_authenticated & is_same_user & holds_no_role
                      & ~is_platform_account)

rules.add_perm("accounts.delete_account", can_delete_account)
rules.add_perm("accounts.manage_identity_provider",
               rules.is_superuser | administers_provider_organisation)


def account_abilities(user) -> dict[str, bool]:
    return {"delete": can_delete_account(user, user)}
