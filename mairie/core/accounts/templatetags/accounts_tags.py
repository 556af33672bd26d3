"""Template tags of the account pages (allauth templates rendered in our shell)."""

from django import template

from mairie.core.accounts import queries
from mairie.core.accounts.middleware import enrolment_next_url

register = template.Library()


@register.simple_tag(takes_context=True)
def identity_providers(context) -> dict[str, list]:
    """The request organisation's active OpenID Connect providers, by audience."""
    request = context.get("request")
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        return {}
    grouped: dict[str, list] = {}
    for provider in queries.identity_providers_for(organisation):
        grouped.setdefault(provider.audience, []).append(provider)
    return grouped


@register.simple_tag(takes_context=True)
def mfa_enrolment_next(context) -> str:
    """Where an agent sent to enrol TOTP goes once done ("" when not enrolling)."""
    request = context.get("request")
    return enrolment_next_url(request) if request is not None else ""
