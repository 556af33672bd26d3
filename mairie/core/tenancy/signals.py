from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Organisation, OrganisationHost
from .queries import forget_host_cache


@receiver([post_save, post_delete], sender=OrganisationHost)
@receiver([post_save, post_delete], sender=Organisation)
def _hosts_changed(**kwargs):
    forget_host_cache()
