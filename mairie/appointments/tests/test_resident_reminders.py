"""The reminder the day before: an e-mail to each booked appointment of tomorrow, an SMS
through the SMS centre when a mobile number was given, once only, whatever fails."""

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.core import mail

from mairie.appointments import services, services_resident, tasks
from mairie.appointments.models import Appointment
from mairie.core.notifications.testing_smpp import SmsCentre

from .plan import make_availability, make_counter, make_type
from .resident_helpers import RESIDENT, book, slots_of

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture
def sms_centre(settings):
    running = SmsCentre().start()
    settings.MAIRIE_SMS_URL = running.url(sender="VALMONT")
    yield running
    running.stop()


@pytest.fixture
def tomorrow_type(organisation, agent):
    counter = make_counter(organisation, address="1 place de la Mairie")
    make_availability(agent, counter)
    appointment_type = make_type(organisation, counters=[counter], agents=[agent],
                                 max_future_per_person=3)
    tomorrow = datetime.datetime.now(PARIS).date() + datetime.timedelta(days=1)
    services.generate_slots(appointment_type=appointment_type, start=tomorrow, end=tomorrow)
    return appointment_type


def test_the_hourly_task_is_in_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["appointments-reminders"]
    assert entry["task"] == "mairie.appointments.tasks.send_reminders"
    assert entry["schedule"] == 3600


def test_tomorrows_appointments_get_an_email_and_an_sms_once(settings, tomorrow_type,
                                                             sms_centre):
    settings.APPOINTMENTS_REMINDER_HOUR = 0
    first, second, third = slots_of(tomorrow_type)[:3]
    with_phone = book(tomorrow_type, first)
    with_landline = book(tomorrow_type, second, name="Fixe", email="fixe@example.org",
                         phone="01 23 45 67 89")
    cancelled = book(tomorrow_type, third, name="Annulé", email="annule@example.org",
                     phone="0698765432")
    services.cancel_appointment(appointment=cancelled)
    mail.outbox.clear()

    assert tasks.send_reminders.delay().get() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["camille@example.org", "fixe@example.org"]
    reminder = next(m for m in mail.outbox if m.to == ["camille@example.org"])
    assert "Rappel" in reminder.subject and "demain" in reminder.subject
    assert "/rendez-vous/gerer/" in reminder.body
    # A text to the mobile only, not to the landline nor the cancelled one.
    assert [sms.destination for sms in sms_centre.received] == ["33612345678"]
    assert "rappel de votre rendez-vous" in sms_centre.received[0].text
    assert "09:00" in sms_centre.received[0].text
    for appointment in (with_phone, with_landline):
        appointment.refresh_from_db()
        assert appointment.reminded_at is not None
    # The next hourly run sends nothing again.
    assert tasks.send_reminders.delay().get() == 0
    assert len(mail.outbox) == 2 and len(sms_centre.received) == 1


def test_appointments_later_than_tomorrow_wait(settings, organisation, agent):
    settings.APPOINTMENTS_REMINDER_HOUR = 0
    counter = make_counter(organisation)
    make_availability(agent, counter)
    later = make_type(organisation, counters=[counter], agents=[agent])
    in_three_days = datetime.datetime.now(PARIS).date() + datetime.timedelta(days=3)
    services.generate_slots(appointment_type=later, start=in_three_days, end=in_three_days)
    appointment = book(later, slots_of(later)[0])
    mail.outbox.clear()
    assert services_resident.send_reminders() == 0
    # The evening before, from the reminder hour, it goes.
    eve = datetime.datetime.combine(in_three_days - datetime.timedelta(days=1),
                                    datetime.time(18), tzinfo=PARIS)
    assert services_resident.send_reminders(now=eve) == 1
    appointment.refresh_from_db()
    assert appointment.reminded_at == eve


def test_not_before_the_reminder_hour(settings, tomorrow_type):
    settings.APPOINTMENTS_REMINDER_HOUR = 10
    book(tomorrow_type, slots_of(tomorrow_type)[0])
    first = slots_of(tomorrow_type)[0]
    today = first.start.astimezone(PARIS).date() - datetime.timedelta(days=1)
    early = datetime.datetime.combine(today, datetime.time(7), tzinfo=PARIS)
    assert services_resident.send_reminders(now=early) == 0
    assert services_resident.send_reminders(
        now=datetime.datetime.combine(today, datetime.time(10, 5), tzinfo=PARIS)) == 1


def test_a_refused_sms_does_not_stop_the_email_nor_the_other_reminders(settings,
                                                                      tomorrow_type):
    settings.APPOINTMENTS_REMINDER_HOUR = 0
    refusing = SmsCentre(refuse_with=0x45).start()  # ESME_RSUBMITFAIL
    settings.MAIRIE_SMS_URL = refusing.url()
    try:
        first, second = slots_of(tomorrow_type)[:2]
        book(tomorrow_type, first)
        book(tomorrow_type, second, name="Deuxième", email="deux@example.org",
             phone="0698765432")
        mail.outbox.clear()
        assert services_resident.send_reminders() == 2
    finally:
        refusing.stop()
    assert sorted(m.to[0] for m in mail.outbox) == ["camille@example.org", "deux@example.org"]
    assert Appointment.objects.filter(reminded_at__isnull=True).count() == 0


def test_an_unreachable_sms_centre_does_not_stop_the_reminders(settings, tomorrow_type):
    settings.APPOINTMENTS_REMINDER_HOUR = 0
    settings.MAIRIE_SMS_URL = "smpp://mairie:secret@127.0.0.1:9"  # nothing listens
    book(tomorrow_type, slots_of(tomorrow_type)[0], **RESIDENT)
    mail.outbox.clear()
    assert services_resident.send_reminders() == 1
    assert [m.to for m in mail.outbox] == [["camille@example.org"]]
