"""`python -m mairie inbound-mail [--recipient ADDRESS]`: deliver one e-mail read on standard
input to the service address it was sent to — the command an MTA pipes mail into (Postfix
`pipe` transport or an alias "|command", see docs/crm.md « Courriels entrants »).

Exit codes follow sysexits.h, which MTAs understand: 0 delivered (or already delivered), 65
(EX_DATAERR) not an e-mail, 67 (EX_NOUSER) no active service address among the recipients —
both bounced to the sender —, 75 (EX_TEMPFAIL) cannot be delivered now: the MTA keeps the mail
and retries, nothing is lost."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from mairie.crm import services_mail
from mairie.crm.mail_parsing import Unparsable

EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = ("Remet un courriel lu sur l'entrée standard à l'adresse de service destinataire "
            "(commande « pipe » du serveur de messagerie).")
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "--recipient", action="append", default=[],
            help="Destinataire de l'enveloppe (Postfix : ${recipient}). À défaut : les "
                 "variables ORIGINAL_RECIPIENT / RECIPIENT, puis les en-têtes du message.")

    def handle(self, *args, recipient, **options):
        stream = options.get("stdin") or sys.stdin.buffer
        raw = stream.read()
        recipients = recipient or [value for value in (os.environ.get("ORIGINAL_RECIPIENT"),
                                                       os.environ.get("RECIPIENT")) if value]
        try:
            delivery = services_mail.deliver_inbound(raw=raw, recipients=recipients)
        except Unparsable as exc:
            raise CommandError(f"5.6.0 Message illisible : {exc}", returncode=EX_DATAERR) from exc
        except services_mail.UnknownRecipient as exc:
            raise CommandError(f"5.1.1 Adresse de service inconnue ou inactive : {exc}",
                               returncode=EX_NOUSER) from exc
        except services_mail.TemporaryFailure as exc:
            raise CommandError(f"4.3.0 Remise impossible pour le moment : {exc}",
                               returncode=EX_TEMPFAIL) from exc
        except DatabaseError as exc:
            raise CommandError(f"4.3.0 Base de données indisponible : {exc.__class__.__name__}",
                               returncode=EX_TEMPFAIL) from exc
        message = delivery.message
        if delivery.duplicate:
            state = "déjà remis"
        elif message.record_id:
            state = "rattaché à une fiche"
        else:
            state = f"à rattacher ({message.get_unmatched_reason_display()})"
        self.stdout.write(f"Courriel {message.pk} pour {message.mailbox.address} : {state}")
