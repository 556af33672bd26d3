"""Pages of the accounts module that allauth does not provide: closing one's account."""

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mairie.core.organisation.queries import memberships_of_user

from . import rules, services
from .forms import DeleteAccountForm


def _has_no_password(request) -> bool:
    return not request.user.has_usable_password()


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True, enabled=_has_no_password, app="mairie.accounts")
def delete_account(request):
    """Explains what goes and what the law keeps, then closes the account on confirmation.

    The password confirms it is the account holder; an account opened through an identity
    provider has none, so allauth's re-authentication (second factor, if any) stands in."""
    user = request.user
    abilities = rules.account_abilities(user)
    form = None
    if abilities["delete"]:
        if request.method == "POST":
            form = DeleteAccountForm(request.POST, user=user, request=request)
            if form.is_valid():
                services.delete_account(actor=user, user=user, request=request)
                messages.success(request, _("Votre compte a été supprimé. Au revoir !"))
                return redirect("web:portal-home")
        else:
            form = DeleteAccountForm(user=user, request=request)
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "accounts/delete.html", {
        "form": form,
        "abilities": abilities,
        "memberships": list(memberships_of_user(user)),
    })
