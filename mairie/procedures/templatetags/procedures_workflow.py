"""`{% applicant_workflow dossier %}`: the workflow engine's part of a page whose view does not
merge `workflow.applicant_context` itself (the tracking page, reached by the tracking code)."""

from django import template

from .. import workflow

register = template.Library()


@register.inclusion_tag("procedures/_applicant_workflow.html", takes_context=True)
def applicant_workflow(context, dossier, tracking_code: str = ""):
    request = context["request"]
    return {"dossier": dossier, "csrf_token": context.get("csrf_token"), "request": request,
            **workflow.applicant_context(request, dossier, tracking_code=tracking_code)}
