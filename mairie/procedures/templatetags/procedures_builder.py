"""Template helpers of the procedure builder."""

from django import template

from mairie.core.organisation.queries import roles_of

from ..rules import DESIGNER_ROLES

register = template.Library()


@register.simple_tag(takes_context=True)
def may_design_procedures(context) -> bool:
    """Whether the agent may design procedures (`rules.may_design(user, None, org)`), from the
    roles already read for the page (no extra query): administrators, managers, directors."""
    request = context.get("request")
    if request is None or not getattr(request, "user", None):
        return False
    return bool(roles_of(request.user, getattr(request, "organisation", None))
                & (DESIGNER_ROLES | {"administrator"}))
