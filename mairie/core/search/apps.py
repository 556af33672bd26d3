from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "mairie.core.search"
    label = "search"
    verbose_name = _("Recherche")

    def ready(self):
        from . import signals  # noqa: F401
        from .organisation_index import register_kernel_types

        register_kernel_types()
