from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProceduresConfig(AppConfig):
    name = "mairie.procedures"
    label = "procedures"
    verbose_name = _("Téléprocédures")

    def ready(self):
        from .files import register_dossier_file_purpose

        register_dossier_file_purpose()
