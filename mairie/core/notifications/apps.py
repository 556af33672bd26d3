from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "mairie.core.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # The kernel's kinds must exist before any page lists them or any module notifies.
        from . import kinds  # noqa: F401
