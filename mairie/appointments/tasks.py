"""Celery tasks of the appointments; each calls a service and nothing else."""

from celery import shared_task


@shared_task(ignore_result=True)
def generate_upcoming_slots() -> int:
    """Beat, daily: every active type's slots up to its booking horizon (the horizon moves
    by a day each day). Returns the number of slots created."""
    from .models import AppointmentType
    from .services import generate_slots

    created = 0
    for appointment_type in AppointmentType.objects.filter(is_active=True).select_related(
            "organisation"):
        created += generate_slots(appointment_type=appointment_type).created
    return created


@shared_task(ignore_result=True, acks_late=True)
def regenerate_slots(type_ids: list[str]) -> None:
    """After a change of the plan (hours, exceptions, availabilities, absences, the type)."""
    from .models import AppointmentType
    from .services import generate_slots

    for appointment_type in AppointmentType.objects.filter(pk__in=type_ids, is_active=True)\
            .select_related("organisation"):
        generate_slots(appointment_type=appointment_type)
