from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "mairie.core.accounts"
    label = "accounts"
    verbose_name = _("Comptes")

    def ready(self):
        from . import receivers  # noqa: F401
