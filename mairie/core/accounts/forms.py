"""Forms of the accounts module: the extra sign-up fields and the account deletion."""

from allauth.core import ratelimit
from django import forms
from django.utils.translation import gettext_lazy as _


class SignupExtraForm(forms.Form):
    """Extra fields asked at sign-up, after the e-mail and the password."""

    first_name = forms.CharField(label=_("Prénom"), max_length=150,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label=_("Nom"), max_length=150,
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))

    def signup(self, request, user):
        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data["last_name"]
        user.save(update_fields=["first_name", "last_name"])


class DeleteAccountForm(forms.Form):
    """Asks for the password (when the account has one) and an explicit confirmation."""

    password = forms.CharField(
        label=_("Mot de passe"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Pour confirmer qu'il s'agit bien de vous."))
    confirm = forms.BooleanField(
        label=_("Je comprends que la suppression est définitive."),
        error_messages={"required": _("Cochez la case pour confirmer la suppression.")})

    def __init__(self, *args, user, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request
        if not user.has_usable_password():
            # Accounts opened through an identity provider have no password: the view asks
            # for a recent sign-in instead.
            del self.fields["password"]

    def clean_password(self):
        password = self.cleaned_data["password"]
        if self.request is not None and not ratelimit.consume(
                self.request, action="reauthenticate", user=self.user):
            raise forms.ValidationError(
                _("Trop de tentatives. Patientez une minute avant de réessayer."))
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Le mot de passe est incorrect."))
        return password
