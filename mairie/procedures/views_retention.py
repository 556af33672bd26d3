"""The retention settings of a procedure, in the builder area
(`/agent/demarches/<slug>/conservation/`): how long decided dossiers are kept, what happens
then, and which identity documents go as soon as the decision is taken.

Only the procedure's designers (`rules.may_design`) reach it: an agent who designs nothing gets
a 403, a procedure they may not design (another service's, another organisation's) a 404.
Every write goes through `retention.save_policy`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mairie.core.web.views import agent_required

from . import queries, retention
from .forms_retention import RetentionForm
from .rules import may_design


def _definition(request, slug):
    if not may_design(request.user, None, request.organisation):
        raise PermissionDenied
    definition = (queries.procedures_for_designer(request.user, request.organisation)
                  .filter(slug=slug).first())
    if definition is None:
        raise Http404
    return definition


def _draft(definition):
    return definition.versions.filter(published_at__isnull=True).order_by("-number").first()


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def retention_settings(request, slug):
    definition = _definition(request, slug)
    policy = retention.policy_of(definition)
    file_fields = retention.file_fields_of(definition)
    initial = {"months": policy.months, "mode": policy.mode,
               "identity_fields": list(policy.identity_fields),
               "version": "" if policy._state.adding else policy.updated_at.isoformat()}
    form = RetentionForm(request.POST or None, file_fields=file_fields, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            retention.save_policy(actor=request.user, definition=definition,
                                  months=data["months"], mode=data["mode"],
                                  identity_fields=data["identity_fields"],
                                  expected_version=data["version"], request=request)
        except retention.StalePolicy as exc:
            status = 409
            posted = request.POST.copy()
            posted["version"] = exc.current.updated_at.isoformat()
            form = RetentionForm(posted, file_fields=file_fields)
            form.is_valid()
            form.add_error(None, str(exc))
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, _("Les règles de conservation sont enregistrées."))
            return redirect("procedures:retention-settings", slug=definition.slug)
    return render(request, "procedures/builder/retention.html", {
        "definition": definition, "draft": _draft(definition), "tab": "retention",
        "form": form, "policy": policy, "file_fields": file_fields,
    }, status=status)
