"""Celery tasks of batch work (`batches.py`); each one calls the service and nothing else.

`acks_late` with `reject_on_worker_lost`: a worker killed in the middle of a batch leaves its
message to the broker, which hands it to another worker; the beat job below also restarts a
batch that stopped moving. Either way only the pending items are taken again.
"""

from celery import shared_task

from . import batches


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_batch(batch_id: str) -> None:
    """Apply a batch's action to its pending dossiers, chunk by chunk."""
    batches.run_batch(batch_id)


@shared_task(ignore_result=True)
def resume_stalled_batches() -> int:
    """Every few minutes (CELERY_BEAT_SCHEDULE): start again the batches whose worker died."""
    stalled = batches.stalled_batches()
    for batch_id in stalled:
        run_batch.delay(batch_id)
    return len(stalled)
