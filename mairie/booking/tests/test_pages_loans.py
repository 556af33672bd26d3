"""The loans page (equipment and its state, the overdue loans on top), the check-out and
check-in forms, the history of an item, and who may lend."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from mairie.booking import services
from mairie.booking.models import Loan
from mairie.core.audit.models import AuditEvent
from mairie.core.notifications.models import Notification

from .conftest import PARIS

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate(timezone.now(), PARIS)


def test_check_out_then_overdue_then_check_in(client, manager, agent, laptop):
    client.force_login(manager)
    page = client.get(reverse("booking:loans")).content.decode()
    assert "Portable PC-12" in page and "Disponible" in page
    url = reverse("booking:check-out", args=[laptop.pk])
    assert agent.email in client.get(url).content.decode()  # among the borrowers
    due = today() + datetime.timedelta(days=7)
    response = client.post(url, {"borrower": str(agent.pk), "due_on": due.isoformat(),
                                 "condition_out": "Chargeur fourni"})
    assert response.status_code == 302
    loan = Loan.objects.get()
    assert loan.borrower == agent and loan.condition_out == "Chargeur fourni"
    page = client.get(reverse("booking:loans")).content.decode()
    assert f"jusqu&#x27;au {due:%d/%m/%Y}" in page or f"jusqu'au {due:%d/%m/%Y}" in page

    Loan.objects.filter(pk=loan.pk).update(due_on=today() - datetime.timedelta(days=2))
    assert services.remind_overdue_loans() == 1
    assert Notification.objects.filter(recipient=agent, kind=services.KIND_LOAN).count() == 2
    response = client.get(reverse("booking:loans"))
    assert len(response.context["overdue"]) == 1
    assert "En retard" in response.content.decode()

    checkin = reverse("booking:check-in", args=[loan.pk])
    assert "Chargeur fourni" in client.get(checkin).content.decode()
    assert client.post(checkin, {"condition_in": "Écran rayé"}).status_code == 302
    loan.refresh_from_db()
    assert loan.returned_at and loan.condition_in == "Écran rayé"
    assert AuditEvent.objects.filter(action="booking.checked_in").exists()
    history = client.get(reverse("booking:resource", args=[laptop.pk])).content.decode()
    assert "Historique des prêts" in history and "Écran rayé" in history


def test_check_out_errors_keep_the_draft(client, manager, agent, laptop):
    client.force_login(manager)
    url = reverse("booking:check-out", args=[laptop.pk])
    past = (today() - datetime.timedelta(days=1)).isoformat()
    response = client.post(url, {"borrower": str(agent.pk), "due_on": past,
                                 "condition_out": "Sacoche"})
    assert response.status_code == 200
    assert "déjà passée" in " ".join(response.context["form"].errors["due_on"])
    assert "Sacoche" in response.content.decode() and "error-summary" in \
        response.content.decode()
    response = client.post(url, {"borrower": "", "due_on": ""})
    assert {"borrower", "due_on"} <= set(response.context["form"].errors)
    assert not Loan.objects.exists()


def test_the_borrower_is_an_agent_of_the_organisation(client, manager, foreign_agent,
                                                      resident, laptop):
    client.force_login(manager)
    url = reverse("booking:check-out", args=[laptop.pk])
    due = (today() + datetime.timedelta(days=3)).isoformat()
    for outsider in (foreign_agent, resident):
        response = client.post(url, {"borrower": str(outsider.pk), "due_on": due})
        assert response.status_code == 200 and "borrower" in response.context["form"].errors
    assert not Loan.objects.exists()


def test_who_may_lend_and_see_the_loans(client, manager, planner, planning_manager,
                                        foreign_agent, laptop, room):
    loan = services.check_out(actor=manager, resource=laptop, borrower=planner,
                              due_on=today() + datetime.timedelta(days=3))
    client.force_login(planning_manager)  # another service: sees the item out, not who has it
    page = client.get(reverse("booking:loans")).content.decode()
    assert "Portable PC-12" in page and "Prêté" in page and planner.get_full_name() not in page
    assert client.get(reverse("booking:check-out", args=[laptop.pk])).status_code == 403
    assert client.post(reverse("booking:check-in", args=[loan.pk])).status_code == 404
    client.force_login(planner)  # the borrower sees their loan but does not take it back
    assert planner.get_full_name() in client.get(reverse("booking:loans")).content.decode()
    assert client.post(reverse("booking:check-in", args=[loan.pk])).status_code == 403
    client.force_login(manager)
    assert client.get(reverse("booking:check-out", args=[room.pk])).status_code == 404
    client.force_login(foreign_agent)
    assert client.get(reverse("booking:loans"), HTTP_HOST="autre.localhost") \
        .context["items"] == []
    assert client.post(reverse("booking:check-in", args=[loan.pk]),
                       HTTP_HOST="autre.localhost").status_code == 404
    loan.refresh_from_db()
    assert loan.returned_at is None


def test_the_loans_page_s_queries_are_bounded(client, manager, agent, make_resource,
                                              django_assert_max_num_queries):
    client.force_login(manager)

    def lend(number):
        item = make_resource(f"Portable {number}", kind="equipment")
        services.check_out(actor=manager, resource=item, borrower=agent,
                           due_on=today() + datetime.timedelta(days=3))
        Loan.objects.filter(resource=item).update(due_on=today() - datetime.timedelta(days=1))

    lend(0)
    client.get(reverse("booking:loans"))
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("booking:loans"))
    for number in range(1, 10):
        lend(number)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("booking:loans"))
    assert len(response.context["overdue"]) == 10
