from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "mairie.crm"
    label = "crm"
    verbose_name = _("Relation aux usagers (GRC)")

    def ready(self):
        from . import (
            privacy,
            receivers,  # noqa: F401 — connects the signal receivers
            services_help,
            services_mail,
            services_mandates,
        )

        services_help.register()
        services_mandates.register()
        privacy.register_privacy()
        services_mandates.register_paper_purpose()
        services_mail.register()
        from . import services_scans

        services_scans.register()
