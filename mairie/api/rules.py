"""Who may create, see and revoke personal tokens."""

import rules

from mairie.core.organisation.queries import is_org_administrator, roles_of


@rules.predicate
def is_token_owner(user, token) -> bool:
    return token is not None and user.is_authenticated and token.user_id == user.pk


@rules.predicate
def is_administrator_of_token_org(user, token) -> bool:
    # An administrator may cut off a leaked token of anyone in the collectivité.
    return token is not None and is_org_administrator(user, token.organisation)


def can_create_token(user, organisation) -> bool:
    """Any active account of the organisation may create tokens for itself."""
    return bool(user.is_authenticated and user.is_active and organisation is not None
                and user.organisation_id == organisation.pk)


def can_revoke_token(user, token) -> bool:
    return (user.is_authenticated and token.organisation_id == user.organisation_id
            and (is_token_owner(user, token) or is_administrator_of_token_org(user, token)))


rules.add_perm("api.revoke_personaltoken", is_token_owner | is_administrator_of_token_org)


def token_abilities(user, token) -> dict[str, bool]:
    return {"revoke": token.is_active and can_revoke_token(user, token)}


def agent_lacks_second_factor(user, organisation) -> bool:
    """An agent without TOTP: like the agent workspace, tokens and agent endpoints are closed
    to them, since a token or a password-only session would bypass the second factor."""
    if not roles_of(user, organisation):
        return False
    from mairie.core.accounts.queries import has_totp

    return not has_totp(user)
