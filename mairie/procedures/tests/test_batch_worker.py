"""Batch work on a real Celery worker (`python -m mairie worker`, real broker): the worker is
killed (SIGKILL) in the middle of a batch; nothing is lost and nothing is duplicated — every
dossier the dead worker marked done has its message exactly once, the others none, and the
batch run again finishes them, once each."""

import os
import signal
from collections import Counter

import pytest
from django.test import TestCase

from mairie.core.notifications.tests.conftest import (  # noqa: F401  (fixture)
    celery_worker_process,
    wait_until,
)
from mairie.procedures import batches
from mairie.procedures.models import Batch, BatchItem, Dossier, DossierMessage

from .batch_helpers import (
    file_many,
    make_batch_procedure,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
        celery_worker_process, organisation, service, agent, resident):  # noqa: F811
    procedure = make_batch_procedure(organisation, service)
    dossiers = file_many(procedure, resident, 400)
    with TestCase.captureOnCommitCallbacks(execute=True):  # sent to the real worker
        batch = batches.create_batch(actor=agent, organisation=organisation, action="message",
                                     parameters={"body": "Votre dossier est bien reçu."},
                                     dossiers=Dossier.objects.all())
    wait_until(lambda: BatchItem.objects.filter(batch=batch, status="done").count() >= 20,
               timeout=60, what="the worker to start the batch")
    os.killpg(celery_worker_process.process.pid, signal.SIGKILL)
    celery_worker_process.process.wait(10)

    batch.refresh_from_db()
    done = set(batch.items.filter(status="done").values_list("dossier_id", flat=True))
    pending = set(batch.items.filter(status="pending").values_list("dossier_id", flat=True))
    assert batch.status == "running"
    assert pending, "the worker finished before it was killed: nothing was tested"
    assert len(done) + len(pending) == 400
    messages = Counter(DossierMessage.objects.values_list("dossier_id", flat=True))
    assert messages == {pk: 1 for pk in done}  # done ⇔ its message, exactly once
    assert batch.done == len(done)

    batches.run_batch(batch.pk)  # what the redelivered message or the beat job does
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == (Batch.Status.FINISHED, 400, 0)
    messages = Counter(DossierMessage.objects.values_list("dossier_id", flat=True))
    assert messages == {d.pk: 1 for d in dossiers}
