from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "mairie.appointments"
    label = "appointments"
    verbose_name = _("Rendez-vous des usagers")

    def ready(self):
        from . import receivers  # noqa: F401 — regenerates the slots when the plan changes

        # The API's scopes, and what the app declares about personal data (decision 0493).
        from .api import register_scopes
        from .privacy import register_privacy

        register_scopes()
        register_privacy()
