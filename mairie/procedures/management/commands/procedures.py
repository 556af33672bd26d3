"""`python -m mairie procedures reindex [--organisation SLUG]`: recompute the text the agents'
inbox searches in (`Dossier.search_text`), e.g. for dossiers filed before it existed.

`python -m mairie procedures retention [--dry-run] [--organisation SLUG]`: apply the
procedures' retention rules now (`retention.py`; the daily Celery task does the same);
`--dry-run` lists what would go, per procedure, and changes nothing."""

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
        keep = sub.add_parser(
            "retention", help="Applique les règles de conservation des dossiers décidés.")
        keep.add_argument("--organisation", help="Identifiant (slug) d'une collectivité.")
        keep.add_argument("--dry-run", action="store_true",
                          help="Affiche ce qui serait supprimé ou anonymisé, sans rien changer.")

    def handle(self, *args, subcommand, organisation=None, **options):
        orgs = Organisation.objects.order_by("slug")
        if organisation:
            orgs = orgs.filter(slug=organisation)
            if not orgs:
                raise CommandError(f"Collectivité inconnue : {organisation}")
        if subcommand == "retention":
            self._retention(orgs, dry_run=options.get("dry_run", False))
            return
        for org in orgs:
            count = reindex_search_texts(organisation=org)
            self.stdout.write(f"OK  {org.slug} : {count} dossiers")

    def _retention(self, orgs, *, dry_run: bool) -> None:
        from mairie.procedures import retention

        for org in orgs:
            outcomes = (retention.plan(organisation=org) if dry_run
                        else retention.apply_retention(organisation=org))
            for outcome in outcomes:
                self._report_retention(org, outcome, dry_run=dry_run)

    def _report_retention(self, org, outcome, *, dry_run: bool) -> None:
        policy = outcome.policy
        mode = "anonymisation" if policy.mode == "anonymise" else "suppression"
        period = f"{policy.months} mois" if policy.months else "sans limite"
        self.stdout.write(f"{'SIMULATION  ' if dry_run else ''}{org.slug} / "
                          f"{outcome.definition.slug} ({mode}, {period})")
        would = "à supprimer" if dry_run else "supprimées"
        self.stdout.write(f"  pièces d'identité {would} : {outcome.identity_files} fichier(s) "
                          f"dans {len(outcome.identity_dossiers)} dossier(s)"
                          + _numbers(outcome.identity_dossiers))
        if dry_run:
            done = "à anonymiser" if policy.mode == "anonymise" else "à supprimer"
        else:
            done = "anonymisés" if policy.mode == "anonymise" else "supprimés"
        self.stdout.write(f"  dossiers {done} : {len(outcome.expired)}"
                          + _numbers(outcome.expired))
        if outcome.failed:
            self.stderr.write(f"  échecs (voir le journal) : {len(outcome.failed)}"
                              + _numbers(outcome.failed))


def _numbers(numbers) -> str:
    return f" — {', '.join(numbers)}" if numbers else ""
