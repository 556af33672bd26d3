"""Two workers run the deadline task at the same moment: every reminder, alert and silence
decision happens once (the unique claim row, decision 0401)."""

import threading

import pytest
from django.db import connection

from mairie.core.factories import agent_factory
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Role
from mairie.procedures import automation
from mairie.procedures.models import DossierEvent

from .automation_helpers import (
    automate,
    in_instruction,
    make_civil_procedure,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_workers_at_once_do_each_thing_once(organisation, service, administrator,
                                                resident, agent):
    manager = agent_factory(service=service, role=Role.MANAGER, email="chef@valmont.example")
    civil = make_civil_procedure(organisation, service, actor=administrator)
    automate(civil, silence_rules=[{"state": "instruction", "kind": "accord",
                                    "decision": "accepte"}])
    other = make_civil_procedure(organisation, service, actor=administrator, slug="autre")
    silent = [in_instruction(submit(civil, resident, nom=f"N{i}"), days_left=-1)
              for i in range(4)]
    late = [in_instruction(submit(other, resident, nom=f"L{i}"), days_left=-1)
            for i in range(4)]
    soon = [in_instruction(submit(other, resident, nom=f"S{i}"), days_left=1,
                           assigned_to=agent) for i in range(4)]
    barrier = threading.Barrier(2)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(automation.run_deadlines())
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    # Whatever the interleaving, the sums are exact.
    total = {key: sum(r[key] for r in results) for key in results[0]}
    assert total["errors"] == 0
    assert total["silences"] == len(silent)
    assert total["escalations"] == len(late)
    assert total["reminders"] == len(soon)
    assert DossierEvent.objects.filter(kind="state_entered",
                                       details__reason="silence_accord").count() == len(silent)
    assert Notification.objects.filter(recipient=manager,
                                       kind=automation.KIND_OVERDUE).count() == len(late)
    assert Notification.objects.filter(recipient=agent,
                                       kind=automation.KIND_REMINDER).count() == len(soon)
    assert Notification.objects.filter(recipient=resident,
                                       kind="procedures.dossier_update").count() == len(silent)
