"""`python -m mairie send_notification_digests`: the daily digests, for cron on one machine.

Celery beat runs the same service every hour when a worker is running; this command serves an
embedded installation that has no worker (it is idempotent, so running both is harmless).
"""

from django.core.management.base import BaseCommand

from mairie.core.notifications.services import send_daily_digests


class Command(BaseCommand):
    help = "Envoie les résumés quotidiens de notifications dus (sans effet s'ils sont déjà partis)."

    def handle(self, *args, **options):
        sent = send_daily_digests()
        self.stdout.write(f"{sent} résumé(s) envoyé(s).")
