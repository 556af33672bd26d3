from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "mairie.booking"
    label = "booking"
    verbose_name = _("Réservation de salles, véhicules et matériel")

    def ready(self):
        from . import services

        services.register()

        # The API's scopes, and what the app declares about personal data (decision 0493).
        from .api import register_scopes
        from .privacy import register_privacy

        register_scopes()
        register_privacy()
