"""`python -m mairie files ping-scanner | sweep [--dry-run]`: operator tools for stored files."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mairie.core.files.scanner import ClamdClient
from mairie.core.files.services import sweep_orphan_files


class Command(BaseCommand):
    help = "Fichiers : vérifier l'antivirus, supprimer les fichiers orphelins du stockage."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("ping-scanner", help="Vérifie que clamd (MAIRIE_CLAMD_URL) répond.")
        sweep = sub.add_parser("sweep", help="Supprime les fichiers stockés sans fiche "
                                             "(transaction annulée), plus vieux de 6 heures.")
        sweep.add_argument("--dry-run", action="store_true", help="Liste sans supprimer.")

    def handle(self, *args, subcommand, **options):
        if subcommand == "ping-scanner":
            url = settings.MAIRIE_CLAMD_URL
            if not url:
                raise CommandError("Aucun antivirus configuré (MAIRIE_CLAMD_URL est vide).")
            if not ClamdClient(url, timeout=settings.MAIRIE_FILE_SCAN_TIMEOUT).ping():
                raise CommandError(f"L'antivirus ne répond pas à {url}.")
            self.stdout.write(f"OK  l'antivirus répond à {url}")
            return
        removed = sweep_orphan_files(dry_run=options["dry_run"])
        verb = "à supprimer" if options["dry_run"] else "supprimé(s)"
        for name in removed:
            self.stdout.write(name)
        self.stdout.write(f"{len(removed)} fichier(s) orphelin(s) {verb}")
