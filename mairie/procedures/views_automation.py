"""The builder's "Automatisation" page of a procedure: deadlines (reminders, escalation),
silence vaut accord / refus, routing rules and automatic transitions. Same audience as the
builder (`rules.may_design`: 403 for an agent who designs nothing, 404 for a procedure the
agent may not design); every write goes through `automation.save_settings`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mairie.core.web.views import agent_required

from . import automation, queries
from .forms_automation import build_forms
from .models import ProcedureDefinition
from .rules import may_design


def _definition(request, slug: str) -> ProcedureDefinition:
    if not may_design(request.user, None, request.organisation):
        raise PermissionDenied
    try:
        return (queries.procedures_for_designer(request.user, request.organisation)
                .select_related("current_version__workflow").get(slug=slug))
    except ProcedureDefinition.DoesNotExist:
        raise Http404 from None


def _errors(forms: dict) -> list[tuple[str, str, str]]:
    """Every error of the page as (anchor, label, message), for the summary on top."""
    found = [("", "", str(error)) for error in forms["form"].non_field_errors()]
    found += [(forms["form"][name].id_for_label, forms["form"][name].label, str(error))
              for name, errors in forms["form"].errors.items() if name != "__all__"
              for error in errors]
    for key in ("silence", "routing", "rules"):
        formset = forms[key]
        found += [("", "", str(error)) for error in formset.non_form_errors()]
        for form in formset.forms:
            for name, errors in form.errors.items():
                for error in errors:
                    if name == "__all__":
                        found.append(("", "", str(error)))
                    else:
                        found.append((form[name].id_for_label, form[name].label, str(error)))
    return found


def _valid(forms: dict) -> bool:
    return all([forms["form"].is_valid(), forms["silence"].is_valid(),
                forms["routing"].is_valid(), forms["rules"].is_valid()])


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def automation_page(request, slug):
    definition = _definition(request, slug)
    settings = automation.settings_of(definition)
    forms = build_forms(definition, settings, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and _valid(forms):
        values = {"reminder_days": forms["form"].cleaned_data["reminder_days"],
                  "escalate": forms["form"].cleaned_data["escalate"],
                  "silence_rules": forms["silence"].rules(),
                  "routing_rules": forms["routing"].rules(),
                  "transition_rules": forms["rules"].rules()}
        try:
            automation.save_settings(actor=request.user, definition=definition, values=values,
                                     expected_revision=forms["form"].cleaned_data["revision"],
                                     request=request)
        except automation.StaleAutomation as exc:
            # Keep what was typed; the next save goes over the revision now shown.
            data = request.POST.copy()
            data["revision"] = str(exc.current.revision)
            forms = build_forms(definition, exc.current, data)
            _valid(forms)
            forms["form"].add_error(None, str(exc))
            status = 409
        except ValidationError as exc:
            forms["form"].add_error(None, exc.messages)
        else:
            messages.success(request, _("L'automatisation de la démarche est enregistrée."))
            return redirect("procedures:builder-automation", slug=definition.slug)
    draft = (definition.versions.filter(published_at__isnull=True).order_by("-number")
             .first())
    return render(request, "procedures/builder/automation.html", {
        "definition": definition, "draft": draft, "tab": "automation", **forms,
        "page_errors": _errors(forms) if request.method == "POST" else [],
        "events": automation.EVENTS}, status=status)
