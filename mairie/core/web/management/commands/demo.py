"""`python -m mairie demo [--serve] [--totp]`: the demo collectivité, "Commune de Valmont".

- without option: load (or refresh) the demo, idempotently, and print the accounts to try;
- `--serve`: then serve it on http://127.0.0.1:8000 (uvicorn, one process, the ASGI app so that
  websockets work; static files come from the app folders through WhiteNoise's finders);
- `--totp`: only print the current TOTP code of the demo secret (what an authenticator app shows).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from mairie.core.demo import data
from mairie.core.demo.loader import DemoResult, current_totp_code, load_demo, otpauth_uri


class Command(BaseCommand):
    help = (
        "Charge (ou met à jour) la collectivité de démonstration « Commune de Valmont » et "
        "affiche les comptes de démonstration ; --serve la sert ensuite sur "
        "http://127.0.0.1:8000."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--serve", action="store_true", help="Servir ensuite la démo (uvicorn, un processus)."
        )
        parser.add_argument(
            "--totp",
            action="store_true",
            help="Afficher seulement le code TOTP actuel du secret de démo.",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="all_accounts",
            help="Lister aussi chacun des habitants.",
        )
        parser.add_argument("--host", default=os.environ.get("MAIRIE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Charger la démo même si MAIRIE_PRODUCTION=1 (déconseillé).",
        )

    def handle(
        self,
        *args,
        serve=False,
        totp=False,
        all_accounts=False,
        host="127.0.0.1",
        port=8000,
        allow_production=False,
        **options,
    ):
        if totp:
            code, remaining = current_totp_code()
            self.stdout.write(f"{code}  (encore {remaining} s ; secret {data.DEMO_TOTP_SECRET})")
            return
        if settings.PRODUCTION and not allow_production:
            raise CommandError(
                "Instance de production (MAIRIE_PRODUCTION=1) : la démo prendrait les noms "
                "d'hôte localhost et 127.0.0.1 et deviendrait la collectivité par défaut. "
                "Ajoutez --allow-production si c'est vraiment voulu."
            )
        self._migrate_if_needed()
        result = load_demo()
        self._print_summary(result, all_accounts=all_accounts, host=host, port=port)
        if serve:
            self._serve(host, port)

    def _migrate_if_needed(self) -> None:
        """A fresh machine has an empty database: create the tables first."""
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write("Base de données à jour des migrations…")
            call_command("migrate", interactive=False, verbosity=0)

    def _print_summary(
        self, result: DemoResult, *, all_accounts: bool, host: str, port: int
    ) -> None:
        write = self.stdout.write
        created = ", ".join(
            f"{n} {_CREATED_LABELS.get(what, what)}"
            for what, n in sorted(result.created.items())
            if n
        )
        write(
            self.style.SUCCESS(
                f"Démo « {result.organisation.name} » chargée"
                + (f" (créés : {created})." if created else " (déjà à jour, rien à créer).")
            )
        )
        write("")
        shown = [a for a in result.accounts if all_accounts or a.kind != "habitant" or a.fixed]
        rows = [
            (a.email, a.name, _kind_label(a), ", ".join(s for _, s in a.roles) or "—")
            for a in shown
        ]
        headers = ("Adresse électronique", "Nom", "Rôle", "Service")
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        write(line.format(*headers).rstrip())
        write(line.format(*("-" * w for w in widths)))
        for row in rows:
            write(line.format(*row).rstrip())
        hidden = len(result.accounts) - len(shown)
        if hidden:
            write(
                f"… et {hidden} autres habitants en @{data.RESIDENT_DOMAIN} "
                "(--all pour les lister)."
            )
        write("")
        write(f"Mot de passe de tous les comptes : {data.DEMO_PASSWORD}")
        write(
            "Associations : comptes d'habitant au nom de l'association, en attendant le "
            "module Solidarité (voir docs/demo.md)."
        )
        write(
            f"Double authentification (agents et super-administrateur) : secret TOTP "
            f"{data.DEMO_TOTP_SECRET}"
        )
        write(f"  à ajouter dans une application d'authentification : {otpauth_uri()}")
        write("  ou code du moment : python -m mairie demo --totp")
        base = f"http://{host}:{port}"
        write("")
        write(f"Portail usager       {base}/")
        write(f"Espace agent         {base}/agent/")
        write(f"Administration       {base}/admin/  ({data.SUPERUSER_EMAIL})")

    def _serve(self, host: str, port: int) -> None:
        import uvicorn

        self.stdout.write("")
        self.stdout.write(
            f"Démo servie sur http://{host}:{port}/ — Ctrl+C pour arrêter. "
            "Les courriels s'affichent ici, dans la console."
        )
        self.stdout.flush()
        uvicorn.run(
            "mairie.asgi:application",
            host=host,
            port=port,
            workers=1,
            lifespan="off",
            log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        )


_CREATED_LABELS = {
    "organisations": "collectivité",
    "hosts": "noms d'hôte",
    "services": "services",
    "users": "comptes",
    "verified_addresses": "adresses vérifiées",
    "memberships": "affectations",
    "totp_authenticators": "authentificateurs TOTP",
}


def _kind_label(account) -> str:
    if account.kind == "agent":
        return ", ".join(role for role, _ in account.roles)
    return account.kind
