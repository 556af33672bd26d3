"""Keeping the kernel's documents (services, agents) in step with the organisation chart."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from mairie.core.organisation.models import Membership, Service

from . import organisation_index

# Saves that change nothing an agent's document shows (every login updates last_login).
_IRRELEVANT_USER_FIELDS = frozenset({"last_login", "password"})


@receiver(post_save, sender=Service)
def _service_saved(sender, instance, created=False, raw=False, **kwargs):
    if raw:
        return
    organisation_index.index_service(instance)
    if not created:  # its members' documents mention its name
        member_ids = (Membership.objects.filter(service=instance)
                      .values_list("user_id", flat=True).distinct())
        for user_id in member_ids:
            organisation_index.index_agent(user_id, instance.organisation_id)


@receiver(post_delete, sender=Service)
def _service_deleted(sender, instance, **kwargs):
    organisation_index.remove_service(instance)


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    organisation_index.index_agent(instance.user_id, instance.organisation_id)


@receiver(post_save, sender=get_user_model())
def _user_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw or created:
        return
    if update_fields is not None and set(update_fields) <= _IRRELEVANT_USER_FIELDS:
        return
    organisation_ids = (Membership.objects.filter(user=instance)
                        .values_list("organisation_id", flat=True).distinct())
    for organisation_id in organisation_ids:
        organisation_index.index_agent(instance.pk, organisation_id)


@receiver(post_delete, sender=get_user_model())
def _user_deleted(sender, instance, **kwargs):
    organisation_index.remove_agent_everywhere(instance.pk)
