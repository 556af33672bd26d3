"""Exports on a real Celery worker (`python -m mairie worker`, real broker): the worker is
killed (SIGKILL) while it writes an export; nothing half-written is kept, the export is found
stalled and written again from the start, once, with every dossier."""

import os
import signal
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from mairie.core.files.models import StoredFile
from mairie.core.notifications.tests.conftest import (  # noqa: F401  (fixture)
    celery_worker_process,
    wait_until,
)
from mairie.procedures import exports
from mairie.procedures.models import Dossier, Export

from .conftest import make_procedure
from .exports_helpers import EXPORT_NEW, content_of, read_csv

pytestmark = pytest.mark.django_db(transaction=True)
DOSSIERS = 20_000


def _file_many_at_once(procedure, applicant, count):
    """`count` submitted dossiers in one insert (an export long enough to be interrupted)."""
    now = timezone.now()
    Dossier.objects.bulk_create(
        [Dossier(organisation=procedure.organisation, version=procedure.current_version,
                 number=f"2026-{n:06d}", applicant=applicant, applicant_email=applicant.email,
                 data={"nom": f"Habitant {n}", "age": 40, "situation": "seul",
                       "courriel": applicant.email},
                 state="depose", submitted_at=now - timedelta(seconds=n))
         for n in range(1, count + 1)], batch_size=2000)


def test_a_worker_killed_while_writing_an_export_leaves_nothing_half_done(
        celery_worker_process, client, organisation, service, administrator, agent,  # noqa: F811
        resident):
    procedure = make_procedure(organisation, service, actor=administrator)
    _file_many_at_once(procedure, resident, DOSSIERS)
    client.force_login(agent)
    with TestCase.captureOnCommitCallbacks(execute=True):  # sent to the real worker
        assert client.post(EXPORT_NEW, {"procedure": str(procedure.pk),
                                        "format": "csv"}).status_code == 302
    export = Export.objects.get()
    wait_until(lambda: Export.objects.filter(pk=export.pk, progress__gt=0).exists(),
               timeout=60, what="the worker to start writing the export")
    os.killpg(celery_worker_process.process.pid, signal.SIGKILL)
    celery_worker_process.process.wait(10)

    export.refresh_from_db()
    assert export.status == Export.Status.RUNNING
    assert 0 < export.progress < DOSSIERS, "the export finished before the kill: nothing tested"
    assert export.stored_file is None
    assert not StoredFile.objects.filter(purpose=exports.EXPORT_PURPOSE).exists()

    assert str(export.pk) not in exports.stalled_exports()  # it moved a moment ago
    Export.objects.filter(pk=export.pk).update(
        updated_at=timezone.now() - exports.STALLED_AFTER - timedelta(seconds=1))
    assert exports.stalled_exports() == [str(export.pk)]  # what the beat job starts again
    assert exports.run_export(export.pk).status == Export.Status.DONE
    assert exports.run_export(export.pk) is None  # a second delivery writes nothing
    assert StoredFile.objects.filter(purpose=exports.EXPORT_PURPOSE).count() == 1
    rows = read_csv(content_of(client, Export.objects.get(pk=export.pk)))
    numbers = [row[0] for row in rows[1:]]
    assert len(numbers) == DOSSIERS and len(set(numbers)) == DOSSIERS
    assert exports.stalled_exports() == []
