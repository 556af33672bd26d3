from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationConfig(AppConfig):
    name = "mairie.core.organisation"
    label = "organisation"
    verbose_name = _("Organigramme")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Membership
        from .queries import memberships_changed

        post_save.connect(memberships_changed, sender=Membership,
                          dispatch_uid="organisation-memberships-changed")
        post_delete.connect(memberships_changed, sender=Membership,
                            dispatch_uid="organisation-memberships-changed")
