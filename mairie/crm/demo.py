"""The demo's citizen records (issue 5): residents met at the counter without an account, a
record for two residents who file online, and the contacts the mediator logged. Idempotent:
loading the demo again adds nothing."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.organisation.models import Membership, Role

from . import services, services_help, services_mandates
from .models import HelpRequest, Interaction, Mandate, ResidentRecord

MEDIATOR_EMAIL = "mediateur@valmont.example"

COUNTER_RESIDENTS: list[tuple[dict[str, Any], list[tuple[str, str, str, str, int]]]] = [
    ({"first_name": "Josiane", "last_name": "Bréval", "phone": "06 45 67 89 10",
      "address": "4 impasse des Vergers", "postal_code": "99150", "city": "Valmont",
      "birth_date": datetime.date(1941, 6, 12), "preferred_channel": "phone",
      "notes": "Malvoyante : lire les courriers avec elle."},
     [("counter", "Demande d'acte de naissance pour sa retraite", "dossier", "", 3),
      ("phone", "Question sur la facture d'eau", "redirected", "", 10)]),
    ({"first_name": "Mamadou", "last_name": "Diallo", "phone": "07 61 22 33 44",
      "email": "m.diallo@example.org", "preferred_channel": "sms"},
     [("counter", "Inscription de sa fille à la cantine", "follow_up",
       "Rappeler quand le quotient familial est calculé", 1)]),
    ({"first_name": "Lucienne", "last_name": "Lefèvre", "address": "12 rue du Lavoir",
      "postal_code": "99150", "city": "Valmont", "preferred_channel": "letter"},
     [("letter", "Courrier au sujet de l'élagage d'un arbre", "answered", "", 20)]),
]


HELP_REQUESTS = [
    {"name": "Odette Marchal", "phone": "04 76 00 11 22", "topic": "procedure",
     "message": "Elle doit refaire sa carte grise en ligne et n'a pas d'ordinateur.",
     "best_time": "après 18 h", "relative_name": "Claire Marchal, sa fille"},
    {"name": "Gérard Poulain", "phone": "06 70 80 90 10", "topic": "account",
     "message": "Je n'arrive pas à créer mon compte, le code n'arrive pas.",
     "best_time": "le matin"},
]


def load_crm_demo(org, *, resident_emails: list[str]) -> int:
    """Returns how many records were created."""
    mediator = get_user_model().objects.filter(email=MEDIATOR_EMAIL, organisation=org).first()
    membership = Membership.objects.filter(user=mediator, role=Role.MEDIATOR).select_related(
        "service").first() if mediator else None
    if membership is None:
        return 0
    created = 0
    for values, contacts in COUNTER_RESIDENTS:
        if ResidentRecord.objects.filter(organisation=org, last_name=values["last_name"],
                                         first_name=values["first_name"]).exists():
            continue
        record = services.create_record(actor=mediator, organisation=org,
                                        values={"email": "", "phone": "", **values})
        ResidentRecord.objects.filter(pk=record.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=30))
        created += 1
        for channel, subject, outcome, follow_up, days_ago in contacts:
            interaction = services.log_interaction(
                actor=mediator, record=record, service=membership.service,
                values={"channel": channel, "subject": subject, "outcome": outcome,
                        "follow_up": follow_up})
            Interaction.objects.filter(pk=interaction.pk).update(
                happened_at=timezone.now() - datetime.timedelta(days=days_ago))
    if not HelpRequest.objects.filter(organisation=org).exists():
        for values in HELP_REQUESTS:
            services_help.request_help(organisation=org, values=dict(values))
    for account in get_user_model().objects.filter(organisation=org,
                                                   email__in=resident_emails[:2]):
        if not ResidentRecord.objects.filter(organisation=org, account=account).exists():
            services.record_for_account(account)
            created += 1
    _demo_mandate(org, mediator, resident_emails[:1])
    _demo_mail(org, membership.service)
    return created


DEMO_MAILS = [
    ("Mamadou Diallo <m.diallo@example.org>", "Quotient familial pour la cantine",
     "Bonjour,\n\nJe vous envoie l'attestation de la CAF demandée à l'accueil.\n\n"
     "Cordialement,\nMamadou Diallo"),
    ("Hélène Vasseur <h.vasseur@example.net>", "Horaires d'ouverture pendant les fêtes",
     "Bonjour,\n\nLa mairie sera-t-elle ouverte le 24 décembre au matin ? "
     "Je dois déposer un dossier de carte d'identité.\n\nMerci,\nHélène Vasseur"),
]


def _demo_mail(org, service) -> None:
    """The counter's address, with one mail from a known resident (it lands on her record)
    and one from a stranger (it waits in « Courriels à rattacher»), delivered as the MTA
    would."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from . import services_mail
    from .models_mail import ServiceMailbox

    address = f"accueil@{org.slug}.example"
    if ServiceMailbox.objects.filter(address=address).exists():
        return
    ServiceMailbox.objects.create(organisation=org, service=service, address=address,
                                  display_name=f"{org.name} — {service.name}")
    for number, (sender, subject, body) in enumerate(DEMO_MAILS):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, address, subject
        message["Date"] = format_datetime(timezone.now() - datetime.timedelta(hours=5 - number))
        message["Message-ID"] = make_msgid(domain="example.org")
        message.set_content(body)
        services_mail.deliver_inbound(raw=message.as_bytes(), recipients=[address])


def _demo_mandate(org, mediator, emails: list[str]) -> None:
    """The first demo resident gave the mediator a mandate for papers and family, consented
    with the code e-mailed to them (recorded directly: the demo sends no e-mail)."""
    record = ResidentRecord.objects.filter(organisation=org, account__email__in=emails).first()
    if record is None or Mandate.objects.filter(record=record).exists():
        return
    mandate = Mandate.objects.create(organisation=org, record=record, mediator=mediator,
                                     domains=["papers", "family"], duration="half_year",
                                     consent_method=Mandate.Consent.EMAIL)
    services_mandates.activate(mandate, timezone.now())
    mandate.save()
    services_mandates.journal(mandate=mandate, actor=mediator, action="consented",
                              label=str(_("Consentement donné par code reçu par courriel")))
