"""When the plan changes — a counter's hours or exceptions, an agent's availabilities or
absences, a type's settings, counters or agents — the affected types' slots are generated
again after the commit (a Celery task calling `services.generate_slots`)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import AgentAbsence, AgentAvailability, AppointmentType, Closure, OpeningHours


def _regenerate_later(type_ids) -> None:
    ids = sorted({str(pk) for pk in type_ids})
    if not ids:
        return
    from .tasks import regenerate_slots

    transaction.on_commit(lambda: regenerate_slots.delay(ids))


def _types_of_counter(counter_id, agent_id=None):
    types = AppointmentType.objects.filter(counters=counter_id)
    if agent_id is not None:
        types = types.filter(agents=agent_id)
    return types.values_list("pk", flat=True)


@receiver([post_save, post_delete], sender=OpeningHours)
@receiver([post_save, post_delete], sender=Closure)
def _counter_plan_changed(sender, instance, **kwargs):
    _regenerate_later(_types_of_counter(instance.counter_id))


@receiver([post_save, post_delete], sender=AgentAvailability)
def _availability_changed(sender, instance, **kwargs):
    _regenerate_later(_types_of_counter(instance.counter_id, instance.agent_id))


@receiver([post_save, post_delete], sender=AgentAbsence)
def _absence_changed(sender, instance, **kwargs):
    _regenerate_later(AppointmentType.objects.filter(agents=instance.agent_id)
                      .values_list("pk", flat=True))


@receiver(post_save, sender=AppointmentType)
def _type_changed(sender, instance, **kwargs):
    _regenerate_later([instance.pk])


@receiver(m2m_changed, sender=AppointmentType.counters.through)
@receiver(m2m_changed, sender=AppointmentType.agents.through)
def _type_members_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if not reverse:
        _regenerate_later([instance.pk])
    elif pk_set:
        _regenerate_later(pk_set)
    # reverse post_clear (a counter or user losing every type) has no pk_set: the daily run
    # withdraws those slots.
