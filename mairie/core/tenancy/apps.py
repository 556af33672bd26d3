from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "mairie.core.tenancy"
    label = "tenancy"
    verbose_name = _("Collectivités")

    def ready(self):
        from . import signals  # noqa: F401
