from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class FilesConfig(AppConfig):
    name = "mairie.core.files"
    label = "files"
    verbose_name = _("Fichiers")

    def ready(self):
        from .purposes import _register_kernel_purposes

        _register_kernel_purposes()
        checks.register(_check_file_settings)


def _check_file_settings(app_configs=None, **kwargs):
    from django.conf import settings

    from .delivery import DELIVERY_MODES
    from .scanner import ClamdClient

    errors = []
    if settings.MAIRIE_FILE_DELIVERY not in DELIVERY_MODES:
        errors.append(checks.Error(
            f"MAIRIE_FILE_DELIVERY must be one of {DELIVERY_MODES}.", id="mairie.files.E001"))
    if settings.MAIRIE_CLAMD_URL:
        try:
            ClamdClient(settings.MAIRIE_CLAMD_URL)
        except ValueError as exc:
            errors.append(checks.Error(str(exc), id="mairie.files.E002"))
    return errors
