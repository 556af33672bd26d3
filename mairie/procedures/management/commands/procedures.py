"""`python -m mairie procedures reindex [--organisation SLUG]`: recompute the text the agents'
inbox searches in (`Dossier.search_text`), e.g. for dossiers filed before it existed."""

from django.core.management.base import BaseCommand, CommandError

from mairie.core.tenancy.models import Organisation
from mairie.procedures.services import reindex_search_texts


class Command(BaseCommand):
    help = "Téléprocédures : maintenance des dossiers."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        rebuild = sub.add_parser(
            "reindex", help="Recalcule le texte de recherche des dossiers déposés.")
        rebuild.add_argument("--organisation", help="Identifiant (slug) d'une collectivité.")

    def handle(self, *args, subcommand, organisation=None, **options):
        orgs = Organisation.objects.order_by("slug")
        if organisation:
            orgs = orgs.filter(slug=organisation)
            if not orgs:
                raise CommandError(f"Collectivité inconnue : {organisation}")
        for org in orgs:
            count = reindex_search_texts(organisation=org)
            self.stdout.write(f"OK  {org.slug} : {count} dossiers")
