"""The agent menu's link to the help requests, for those who answer them."""

from django import template

from mairie.crm import rules

register = template.Library()


@register.simple_tag(takes_context=True)
def answers_help_requests(context) -> bool:
    request = context.get("request")
    if request is None or not getattr(request, "organisation", None):
        return False
    return rules.handles_help_requests(request.user, request.organisation)
