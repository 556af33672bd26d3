from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "mairie.core.privacy"
    label = "privacy"
    verbose_name = _("Données personnelles")

    def ready(self):
        from .declarations import register_core

        register_core()
