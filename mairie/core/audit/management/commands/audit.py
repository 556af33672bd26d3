"""`python -m mairie audit verify [--organisation SLUG]`: check the hash chains."""

from django.core.management.base import BaseCommand, CommandError

from mairie.core.audit.services import verify_chain
from mairie.core.tenancy.models import Organisation


class Command(BaseCommand):
    help = "Vérifie l'intégrité du journal d'audit (chaîne d'empreintes par collectivité)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Signale le premier maillon rompu.")
        verify.add_argument("--organisation", help="Identifiant (slug) d'une collectivité.")

    def handle(self, *args, subcommand, organisation=None, **options):
        orgs = Organisation.objects.all()
        if organisation:
            orgs = orgs.filter(slug=organisation)
            if not orgs:
                raise CommandError(f"Collectivité inconnue : {organisation}")
        broken = False
        for org in orgs:
            result = verify_chain(org)
            if result is None:
                self.stdout.write(f"OK  {org.slug} : chaîne intacte")
            else:
                broken = True
                self.stdout.write(
                    f"ROMPU  {org.slug} : premier maillon rompu n°{result.seq} — {result.reason}"
                )
        if broken:
            raise CommandError("Le journal d'audit a été altéré.")
