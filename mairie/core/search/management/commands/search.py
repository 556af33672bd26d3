"""`python -m mairie search reindex [--organisation SLUG]`: rebuild the search index."""

from django.core.management.base import BaseCommand, CommandError

from mairie.core.search.services import prune_index, reindex
from mairie.core.tenancy.models import Organisation


class Command(BaseCommand):
    help = "Index de recherche : reconstruction (après une restauration ou une mise à jour)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        rebuild = sub.add_parser(
            "reindex", help="Relit les objets de chaque module et recalcule l'index plein texte.")
        rebuild.add_argument("--organisation", help="Identifiant (slug) d'une collectivité.")

    def handle(self, *args, subcommand, organisation=None, **options):
        orgs = Organisation.objects.order_by("slug")
        if organisation:
            orgs = orgs.filter(slug=organisation)
            if not orgs:
                raise CommandError(f"Collectivité inconnue : {organisation}")
        pruned = prune_index()
        if pruned:
            self.stdout.write(f"{pruned} entrées plein texte orphelines supprimées")
        for org in orgs:
            counts = reindex(organisation=org)
            detail = ", ".join(f"{name} : {n}" for name, n in sorted(counts.items())) or "vide"
            self.stdout.write(f"OK  {org.slug} : {sum(counts.values())} documents ({detail})")
