"""Pages of "Mon compte › Jetons d'accès à l'API", and the API documentation page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.views import SpectacularSwaggerSplitView

from .forms import PersonalTokenForm
from .queries import tokens_of
from .rules import agent_lacks_second_factor, token_abilities
from .scopes import all_scopes
from .services import create_token, end_of_day, revoke_token

TOKENS_PER_PAGE = 20


@never_cache  # no-store: the raw key must not linger in any cache, shared or the browser's
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """List the user's tokens; create one (the raw key is shown in this response only)."""
    if agent_lacks_second_factor(request.user, request.organisation):
        messages.info(request, _("Activez la double authentification avant de créer des "
                                 "jetons d'accès à l'API."))
        return redirect(reverse("mfa_activate_totp") + "?next=" + request.path)
    organisation = request.organisation
    created, raw_key = None, None
    if request.method == "POST":
        form = PersonalTokenForm(request.POST, organisation=organisation)
        if form.is_valid():
            try:
                created, raw_key = create_token(
                    actor=request.user, organisation=organisation,
                    name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                    expires_at=end_of_day(form.cleaned_data["expires_on"], organisation),
                    request=request)
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                form = PersonalTokenForm(organisation=organisation)
    else:
        form = PersonalTokenForm(organisation=organisation)
    page = Paginator(tokens_of(request.user, organisation), TOKENS_PER_PAGE).get_page(
        request.GET.get("page"))
    rows = [(token, token_abilities(request.user, token)) for token in page]
    return render(request, "api/tokens.html", {
        "form": form, "page": page, "rows": rows, "created": created, "raw_key": raw_key,
        "scopes": all_scopes(),
    })


def _add_service_errors(form, error: ValidationError) -> None:
    fields = {"expires_at": "expires_on"}
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            target = fields.get(field, field)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
@require_POST
def revoke(request, pk):
    token = get_object_or_404(tokens_of(request.user, request.organisation), pk=pk)
    revoke_token(actor=request.user, token=token, request=request)
    messages.success(request, _("Le jeton « %(name)s » est révoqué : il ne fonctionne plus.")
                     % {"name": token.name})
    return redirect("api:tokens")


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the self-hosted sidecar assets; its init script is a separate file
    (`?script`), so the page needs no inline script and keeps the site-wide CSP."""

    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
    title = "Mairie — API v1"
