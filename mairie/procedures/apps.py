from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProceduresConfig(AppConfig):
    name = "mairie.procedures"
    label = "procedures"
    verbose_name = _("Téléprocédures")

    def ready(self):
        from .files import register_dossier_file_purpose

        register_dossier_file_purpose()

        # Workflow roles remembered per request are computed again after a mapping changes.
        from django.db.models.signals import post_delete, post_save

        from .models import WorkflowRoleMapping
        from .queries import role_mappings_changed

        for signal in (post_save, post_delete):
            signal.connect(role_mappings_changed, sender=WorkflowRoleMapping,
                           dispatch_uid="procedures-role-mappings-changed")

        from .documents import register_document_purpose
        from .workflow import register_notification_kinds

        register_document_purpose()
        register_notification_kinds()

        from . import processing

        processing.register()

        # API and webhooks: the webhook hook on timeline events, and its tasks module.
        from . import tasks_api, webhooks  # noqa: F401

        webhooks.register()

        from . import automation, tasks_automation  # noqa: F401  (issue 4: beat task)

        automation.register()

        # Exports (issue 4): the export file purpose and the task module.
        from . import exports, tasks_exports  # noqa: F401

        exports.register_export_purpose()

        # Retention (issue 4): the daily task module.
        from . import tasks_retention  # noqa: F401

        # What the engine declares about personal data (registers and "Mes données").
        from .privacy import register_privacy

        register_privacy()

        # Batch work: Celery's autodiscovery only imports `tasks.py`.
        import_module(f"{self.name}.tasks_batch")
