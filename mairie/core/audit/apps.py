from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "mairie.core.audit"
    label = "audit"
    verbose_name = _("Journal d'audit")

    def ready(self):
        from . import signals  # noqa: F401
