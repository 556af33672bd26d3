from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "mairie.api"
    label = "api"
    verbose_name = _("API")

    def ready(self):
        # Registers the OpenAPI description of token authentication with drf-spectacular.
        from . import schema  # noqa: F401
