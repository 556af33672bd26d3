from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProceduresConfig(AppConfig):
    name = "mairie.procedures"
    label = "procedures"
    verbose_name = _("Téléprocédures")

    def ready(self):
        from .files import register_dossier_file_purpose

        register_dossier_file_purpose()

        from .documents import register_document_purpose
        from .workflow import register_notification_kinds

        register_document_purpose()
        register_notification_kinds()

        from . import processing

        processing.register()
