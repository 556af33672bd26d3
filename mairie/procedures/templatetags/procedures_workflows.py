"""`{% may_edit_workflows as flag %}`: whether the agent menu offers the workflow editor."""

from django import template

from ..rules import may_edit_workflows as _may_edit_workflows

register = template.Library()


@register.simple_tag(takes_context=True)
def may_edit_workflows(context) -> bool:
    request = context.get("request")
    if request is None:
        return False
    return _may_edit_workflows(request.user, getattr(request, "organisation", None))
