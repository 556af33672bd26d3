"""Equipment loans: check out to an agent with a return date and condition notes, check in,
history per item, and the overdue reminder of the beat task."""

import datetime

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from mairie.booking import queries, services, tasks
from mairie.booking.models import Loan
from mairie.core.notifications.models import Notification

from .conftest import PARIS

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate(timezone.now(), PARIS)


def test_check_out_and_in_with_condition_notes(manager, agent, laptop):
    loan = services.check_out(actor=manager, resource=laptop, borrower=agent,
                              due_on=today() + datetime.timedelta(days=14),
                              condition_out="Rayure sur le capot, chargeur fourni")
    told = Notification.objects.get(kind=services.KIND_LOAN)
    assert told.recipient == agent and "Portable PC-12 vous est prêté" in told.title
    with pytest.raises(ValidationError, match="déjà prêté à"):
        services.check_out(actor=manager, resource=laptop, borrower=manager,
                           due_on=today() + datetime.timedelta(days=3))
    services.check_in(actor=manager, loan=loan, condition_in="Touche Échap manquante")
    loan.refresh_from_db()
    assert loan.returned_at is not None and loan.checked_in_by == manager
    assert loan.condition_in == "Touche Échap manquante"
    with pytest.raises(ValidationError, match="déjà rendu"):
        services.check_in(actor=manager, loan=loan)
    again = services.check_out(actor=manager, resource=laptop, borrower=manager,
                               due_on=today())
    assert list(queries.loan_history(manager, laptop)) == [again, loan]
    # The owning service sees every loan of its items; an agent elsewhere only their own.
    assert set(queries.loans_visible_to(agent, agent.organisation)) == {again, loan}


def test_an_agent_of_another_service_sees_only_their_own_loans(manager, planner, laptop,
                                                               make_resource):
    phone = make_resource("Téléphone 08", kind="equipment")
    mine = services.check_out(actor=manager, resource=laptop, borrower=planner,
                              due_on=today())
    services.check_out(actor=manager, resource=phone, borrower=manager, due_on=today())
    assert list(queries.loans_visible_to(planner, planner.organisation)) == [mine]


def test_who_lends_what_to_whom(manager, agent, planner, laptop, room, foreign_agent):
    due = today() + datetime.timedelta(days=7)
    with pytest.raises(PermissionDenied):  # not of the owning service
        services.check_out(actor=planner, resource=laptop, borrower=planner, due_on=due)
    with pytest.raises(ValidationError, match="Seul le matériel"):
        services.check_out(actor=manager, resource=room, borrower=agent, due_on=due)
    with pytest.raises(ValidationError):
        services.check_out(actor=manager, resource=laptop, borrower=foreign_agent, due_on=due)
    with pytest.raises(ValidationError, match="déjà passée"):
        services.check_out(actor=manager, resource=laptop, borrower=agent,
                           due_on=today() - datetime.timedelta(days=1))
    loan = services.check_out(actor=manager, resource=laptop, borrower=planner, due_on=due)
    with pytest.raises(PermissionDenied):
        services.check_in(actor=planner, loan=loan)
    assert not queries.loans_visible_to(foreign_agent, agent.organisation).exists()


def test_overdue_loans_are_reminded_once_a_day(manager, agent, laptop, make_resource):
    phone = make_resource("Téléphone 07", kind="equipment")
    late = services.check_out(actor=manager, resource=laptop, borrower=agent, due_on=today())
    on_time = services.check_out(actor=manager, resource=phone, borrower=agent,
                                 due_on=today() + datetime.timedelta(days=3))
    Loan.objects.filter(pk=late.pk).update(due_on=today() - datetime.timedelta(days=2))
    Notification.objects.all().delete()
    assert tasks.remind_overdue_loans() == 1
    reminded = Notification.objects.filter(kind=services.KIND_LOAN)
    assert {n.recipient for n in reminded} == {agent, manager}
    assert all("devait être rendu le" in n.title and "Portable PC-12" in n.title
               for n in reminded)
    assert tasks.remind_overdue_loans() == 0  # once a day
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    assert services.remind_overdue_loans(now=tomorrow) == 1
    services.check_in(actor=manager, loan=late)
    in_a_week = timezone.now() + datetime.timedelta(days=7)
    assert services.remind_overdue_loans(now=in_a_week) == 1  # only the phone, late by then
    assert Loan.objects.get(pk=on_time.pk).reminded_at is not None
    assert settings.CELERY_BEAT_SCHEDULE["booking-overdue-loans"]["task"] == \
        "mairie.booking.tasks.remind_overdue_loans"
