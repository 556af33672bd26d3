from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "mairie.crm"
    label = "crm"
    verbose_name = _("Relation aux usagers (GRC)")

    def ready(self):
        from . import services_help

        services_help.register()
