"""The shell's pages: citizen portal home, agent workspace home, legal pages, organisation
settings and theme. The error pages are the templates 403.html, 404.html and 500.html, rendered
by Django's default handlers."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from mairie.core.notifications.queries import notifications_for
from mairie.core.organisation.queries import is_org_administrator, memberships_of_user, roles_of
from mairie.core.tenancy.colours import readable_text_on
from mairie.core.tenancy.models import Organisation
from mairie.core.tenancy.services import StaleSettings, update_organisation_settings

from .forms import OrganisationSettingsForm


@require_GET
def portal_home(request):
    return render(request, "portal/home.html")


@login_required
def after_login(request):
    """Agents land in their workspace, residents on the portal."""
    if roles_of(request.user, request.organisation):
        return redirect("web:agent-home")
    return redirect("web:my-account")


def agent_required(view):
    """The view is for agents of the request's organisation (holders of at least one role)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not roles_of(request.user, request.organisation):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@agent_required
@require_GET
def agent_home(request):
    memberships = list(memberships_of_user(request.user))
    notifications = list(notifications_for(request.user, request.organisation)[:5])
    return render(request, "agent/home.html",
                  {"memberships": memberships, "notifications": notifications})


@login_required
@require_GET
def my_account(request):
    return render(request, "portal/my_account.html",
                  {"memberships": list(memberships_of_user(request.user))})


def _conflicts(form, current: Organisation) -> list[tuple[str, object]]:
    """Fields whose stored value differs from what the administrator is submitting."""
    found = []
    for name in form.Meta.fields:
        if name in form.fields and name in getattr(form, "cleaned_data", {}):
            stored = getattr(current, name)
            if stored != form.cleaned_data[name]:
                display = getattr(current, f"get_{name}_display", None)
                found.append((form.fields[name].label, display() if display else stored))
    return found


def _report(form, exc: ValidationError) -> None:
    """Show a service's refusal on the form, on the field it names when there is one."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        field = "logo_upload" if field == "logo" else field
        form.add_error(field if field in form.fields else None, errors)


@agent_required
@require_http_methods(["GET", "POST"])
def organisation_settings(request):
    """Administrators edit their organisation's identity, legal fields and theme."""
    org = request.organisation
    if not is_org_administrator(request.user, org):
        raise PermissionDenied
    # A separate instance: an invalid form must not leak into the page's header and footer.
    editable = Organisation.objects.get(pk=org.pk)
    form = OrganisationSettingsForm(request.POST or None, request.FILES or None,
                                    instance=editable)
    conflicts: list = []
    if request.method == "POST" and form.is_valid():
        try:
            changed = update_organisation_settings(
                actor=request.user, organisation=org, changes=form.changes(),
                expected_version=form.cleaned_data["version"],
                logo=form.cleaned_data.get("logo_upload"),
                remove_logo=form.cleaned_data.get("remove_logo", False), request=request)
        except StaleSettings as stale:
            conflicts = _conflicts(form, stale.current)
            # Keep the administrator's input; the next save, made knowingly, will go through.
            data = request.POST.copy()
            data["version"] = stale.current.updated_at.isoformat()
            form = OrganisationSettingsForm(data, instance=stale.current)
            form.is_valid()
            form.add_error(None, _(
                "Un autre administrateur a modifié ces paramètres pendant que vous les "
                "éditiez : rien n'a été enregistré. Vos saisies sont conservées ci-dessous ; "
                "comparez-les aux valeurs enregistrées entre-temps, puis enregistrez à nouveau "
                "(le logo éventuel est à choisir de nouveau)."))
        except ValidationError as exc:
            _report(form, exc)
        else:
            if changed:
                messages.success(request, _("Les paramètres de la collectivité ont été "
                                            "enregistrés."))
            else:
                messages.info(request, _("Aucune modification à enregistrer."))
            return redirect("web:organisation-settings")
    return render(request, "agent/organisation_settings.html",
                  {"form": form, "conflicts": conflicts})


@require_GET
@cache_control(max_age=300, public=True)
def theme_css(request):
    """Design tokens of the request's organisation (colours), as a stylesheet (CSP-friendly).

    Pages link it with the organisation's `updated_at` in the query string, so a change of
    colours shows at once despite the cache lifetime.
    """
    org = request.organisation
    css = (":root {"
           f" --colour-primary: {org.primary_colour};"
           f" --colour-primary-contrast: {readable_text_on(org.primary_colour)};"
           f" --colour-secondary: {org.secondary_colour};"
           f" --colour-secondary-contrast: {readable_text_on(org.secondary_colour)};"
           " }\n")
    return HttpResponse(css, content_type="text/css; charset=utf-8")


@require_GET
def accessibility(request):
    return render(request, "legal/accessibility.html")


@require_GET
def privacy(request):
    return render(request, "legal/privacy.html")


@require_GET
def legal_notice(request):
    return render(request, "legal/legal_notice.html")
