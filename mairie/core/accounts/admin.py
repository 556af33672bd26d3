"""Administration of identity providers (OpenID Connect) per collectivité.

Writes go through `services` so that the allauth app stays in step and the audit log records
who changed what. allauth's own SocialApp admin remains available for other providers.
"""

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import services
from .models import IdentityProvider


class IdentityProviderForm(forms.ModelForm):
    secret = forms.CharField(
        label=_("secret client"), required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Jamais réaffiché. Laissez vide pour conserver le secret enregistré."))

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret and self.instance.pk:
            return self.instance.secret
        if not secret:
            raise forms.ValidationError(_("Indiquez le secret client fourni par le fournisseur."))
        return secret

    class Meta:
        model = IdentityProvider
        fields = ["organisation", "audience", "name", "button_label", "server_url",
                  "client_id", "secret", "scopes", "use_pkce", "is_active"]


@admin.register(IdentityProvider)
class IdentityProviderAdmin(admin.ModelAdmin):
    form = IdentityProviderForm
    list_display = ["name", "organisation", "audience", "server_url", "is_active"]
    list_filter = ["audience", "is_active", "organisation"]
    search_fields = ["name", "organisation__name", "server_url", "client_id"]
    readonly_fields = ["redirect_uri"]
    actions = None  # bulk deletion would bypass the service (and the audit log)

    @admin.display(description=_("adresse de retour à déclarer chez le fournisseur"))
    def redirect_uri(self, obj):
        if obj is None or not obj.app_id:
            return _("Disponible après l'enregistrement.")
        hosts = list(obj.organisation.hosts.values_list("host", flat=True))
        if not hosts:
            return obj.callback_path()
        return format_html("<br>".join(["https://{}{}"] * len(hosts)),
                           *[part for host in hosts for part in (host, obj.callback_path())])

    def save_model(self, request, obj, form, change):
        services.save_identity_provider(actor=request.user, provider=obj, request=request)

    def delete_model(self, request, obj):
        services.delete_identity_provider(actor=request.user, provider=obj, request=request)
