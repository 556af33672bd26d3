"""Celery task of the inbox exports; it calls `exports.run_export` and nothing else."""

from celery import shared_task

from . import exports


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_export_task(export_id: str) -> str:
    """Write one export. Acknowledged only once done: if the worker dies while writing, the
    message is delivered again and the export is written from the start (nothing was stored
    yet, and a finished export is never written twice)."""
    export = exports.run_export(export_id)
    return export.status if export is not None else ""


@shared_task(ignore_result=True)
def resume_stalled_exports() -> int:
    """Every few minutes (CELERY_BEAT_SCHEDULE): write again the exports whose worker died."""
    stalled = exports.stalled_exports()
    for export_id in stalled:
        run_export_task.delay(export_id)
    return len(stalled)
