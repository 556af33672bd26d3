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


@shared_task(ignore_result=True)
def send_appointment_email(appointment_id: str, kind: str, base_url: str = "") -> None:
    """After the commit of a booking, a move or a cancellation: the resident's e-mail with
    the iCalendar event and the management link."""
    from .services_resident import send_appointment_email as send

    send(appointment_id, kind, base_url)


@shared_task(ignore_result=True)
def tell_waiting_list(slot_id: str, base_url: str = "") -> int:
    """After the commit of what freed a seat of the slot: tell the waiting list."""
    from .services_resident import tell_waiting_list as tell

    return tell(slot_id, base_url)


@shared_task(ignore_result=True)
def send_reminders() -> int:
    """Beat, hourly: tomorrow's appointments, each reminded once (decision 0483)."""
    from .services_resident import send_reminders as remind

    return remind()


@shared_task(ignore_result=True)
def apply_retention() -> dict:
    """Beat, daily: anonymise the appointments more than a year past (decision 0493)."""
    from .privacy import apply_retention as apply

    return apply()
