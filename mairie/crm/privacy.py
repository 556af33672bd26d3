"""What the citizen records declare about personal data (GDPR art. 30), and a person's record,
contacts and help requests in their copy of their data ("Mes données")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mairie.core.privacy.registry import ProcessingActivity, iso, register


def _records(user, organisation) -> list[dict]:
    from .models import ResidentRecord

    rows = []
    for record in (ResidentRecord.objects.filter(organisation=organisation, account=user,
                                                 merged_into__isnull=True)
                   .prefetch_related("interactions__service")):
        rows.append({
            "first_name": record.first_name, "last_name": record.last_name,
            "birth_name": record.birth_name, "birth_date": iso(record.birth_date),
            "email": record.email, "phone": record.phone, "address": record.address,
            "postal_code": record.postal_code, "city": record.city,
            "preferred_channel": record.get_preferred_channel_display(),
            "front_desk_notes": record.notes,
            "contacts": [{"at": iso(i.happened_at), "channel": i.get_channel_display(),
                          "service": i.service.name, "subject": i.subject,
                          "outcome": i.get_outcome_display(), "report": i.notes}
                         for i in sorted(record.interactions.all(),
                                         key=lambda i: i.happened_at)],
        })
    return rows


def _help_requests(user, organisation) -> list[dict]:
    from .models import HelpRequest

    return [{"reference": h.reference, "at": iso(h.created_at), "name": h.name,
             "phone": h.phone, "email": h.email, "relative": h.relative_name,
             "topic": h.get_topic_display(), "message": h.message, "status":
             h.get_status_display(), "outcome": h.get_outcome_display() if h.outcome else None}
            for h in HelpRequest.objects.filter(organisation=organisation, account=user)
            .order_by("created_at")]


def _mandates(user, organisation) -> list[dict]:
    from .models_mandates import Mandate

    return [{"mediator": m.mediator.get_full_name() or m.mediator.email,
             "domains": m.domain_labels(), "state": m.get_state_display(),
             "consented_at": iso(m.consented_at), "expires_at": iso(m.expires_at),
             "revoked_at": iso(m.revoked_at),
             "journal": [{"at": iso(u.at), "by": u.actor_label, "what": u.label}
                         for u in m.uses.all()]}
            for m in Mandate.objects.filter(organisation=organisation, record__account=user)
            .select_related("mediator").prefetch_related("uses")]


def _scans(user, organisation) -> list[dict]:
    from .models_scans import CounterScan

    return [{"at": iso(s.created_at), "document": s.label, "service": s.service.name,
             "state": s.get_state_display(), "file": s.original.original_name,
             "dossier": s.dossier.number if s.dossier_id and s.dossier else None,
             "text": s.text}
            for s in CounterScan.objects.filter(organisation=organisation, record__account=user)
            .select_related("service", "original", "dossier").order_by("created_at")]


def _erase_scans(user, organisation) -> dict:
    """Scanned documents go, files and text; those attached to a dossier stay with it (the
    dossier's pieces, kept as long as the dossier)."""
    from django.utils.translation import gettext as _

    from . import services_scans
    from .models_scans import CounterScan

    scans = CounterScan.objects.filter(organisation=organisation, record__account=user) \
        .select_related("original", "searchable_pdf")
    erased = 0
    for scan in scans.filter(dossier__isnull=True):
        services_scans.forget_scan(actor=None, scan=scan)
        erased += 1
    kept = scans.filter(dossier__isnull=False).count()
    outcome: dict[str, list[str]] = {}
    if erased:
        outcome["erased"] = [str(_("%(n)s documents numérisés supprimés (fichiers et texte)")
                                 % {"n": erased})]
    if kept:
        outcome["kept"] = [str(_("%(n)s documents numérisés joints à un dossier, conservés "
                                 "avec lui") % {"n": kept})]
    return outcome


def _erase_records(user, organisation) -> dict:
    """Anonymise the person's record and what their contacts say; the contacts' dates and
    channels stay (the service's activity)."""
    from django.utils.translation import gettext as _

    from .models import Interaction, ResidentRecord

    erased = []
    for record in ResidentRecord.objects.filter(organisation=organisation, account=user):
        contacts = Interaction.objects.filter(record=record).update(
            subject=str(_("(effacé)")), notes="", follow_up="")
        for name in ("first_name", "birth_name", "email", "phone", "address", "postal_code",
                     "city", "notes", "search_text", "phonetic", "phone_digits"):
            setattr(record, name, "")
        # The account link stays (the account itself is closed by its owner), so that the
        # mandates below are still found.
        record.last_name, record.birth_date = str(_("Anonymisé")), None
        record.save()
        erased.append(_("fiche anonymisée, %(n)s contacts vidés de leur contenu") % {
            "n": contacts})
    return {"erased": [str(e) for e in erased]}


def _erase_help_requests(user, organisation) -> dict:
    from django.utils.translation import gettext as _

    from .models import HelpRequest

    count = HelpRequest.objects.filter(organisation=organisation, account=user).update(
        name=str(_("Anonymisé")), phone="", email="", relative_name="", message="",
        best_time="", outcome_notes="", account=None)
    return {"erased": [str(_("%(n)s demandes anonymisées") % {"n": count})]} if count else {}


def _keep_mandates(user, organisation) -> dict:
    """Mandates and their journals are the proof of consent and of what was done in the
    person's name: kept, and revoked when still running."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from . import services_mandates
    from .models_mandates import Mandate

    mandates = Mandate.objects.filter(organisation=organisation, record__account=user)
    count = mandates.count()
    for mandate in mandates.filter(revoked_at__isnull=True):
        Mandate.objects.filter(pk=mandate.pk).update(revoked_at=timezone.now())
        services_mandates.journal(mandate=mandate, actor=None, action="revoked",
                                  label=str(_("Mandat révoqué : demande d'effacement")))
    return {"kept": [str(_("%(n)s mandats et leurs journaux (preuve du consentement et des "
                           "actes faits au nom de la personne) ; ceux en cours sont "
                           "révoqués") % {"n": count})]} if count else {}


def _mails(user, organisation) -> list[dict]:
    from .models_mail import MailMessage

    return [{"at": iso(m.received_at), "direction": m.get_direction_display(),
             "service": m.service.name, "from": m.sender_address, "to": m.recipients,
             "subject": m.subject, "text": m.body_text,
             "attachments": [a.filename for a in m.attachments.all()]}
            for m in MailMessage.objects.filter(organisation=organisation,
                                                record__account=user)
            .select_related("service").prefetch_related("attachments")
            .order_by("received_at")]


def _erase_mails(user, organisation) -> dict:
    """The mails on the person's records lose their content, original and attachments; their
    dates, direction and service stay (the service's activity)."""
    from django.utils.translation import gettext as _

    from mairie.core.files.services import delete_stored_file

    from .models_mail import MailAttachment, MailMessage

    mails = MailMessage.objects.filter(organisation=organisation, record__account=user)
    count = 0
    for message in mails.select_related("raw"):
        files = [message.raw] if message.raw else []
        for attachment in MailAttachment.objects.filter(message=message, file__isnull=False) \
                .select_related("file"):
            files.append(attachment.file)
        MailAttachment.objects.filter(message=message).update(
            file=None, filename=str(_("(effacé)")), refusal="")
        MailMessage.objects.filter(pk=message.pk).update(
            raw=None, subject=str(_("(effacé)")), body_text="", sender_name="",
            sender_address="", recipients="", problems=[])
        for stored in files:
            delete_stored_file(actor=None, stored_file=stored)
        count += 1
    return {"erased": [str(_("%(n)s courriels vidés de leur contenu, de leur original et de "
                             "leurs pièces jointes") % {"n": count})]} if count else {}


def register_privacy() -> None:
    register(ProcessingActivity(
        key="crm.records", module="crm", name=_("Fiches usagers et contacts (GRC)"),
        purpose=_("Accueillir les usagers à l'accueil, au téléphone, par courriel et par "
                  "courrier ; suivre leurs demandes ; déposer une démarche pour eux."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e)."),
        data_subjects=_("Usagers reçus ou contactés, avec ou sans compte en ligne."),
        data_categories=_("Identité, coordonnées, moyen de contact préféré, remarques "
                          "d'accueil, contacts (canal, objet, suite, compte rendu)."),
        recipients=_("Agents de la collectivité (identité et coordonnées) ; les contacts : le "
                     "service qui les a notés, la direction et les administrateurs."),
        retention=_("Tant que la personne est en relation avec la collectivité, dans la limite "
                    "de la durée de conservation des données personnelles qu'elle a fixée."),
        security=_("Chaque consultation d'une fiche journalisée ; fusions tracées ; lecture des "
                   "contacts réservée au service qui les a notés."),
        export=_records, erase=_erase_records))
    register(ProcessingActivity(
        key="crm.help_requests", module="crm", name=_("Demandes d'aide pour une démarche"),
        purpose=_("Rappeler et aider les personnes en difficulté avec les démarches en "
                  "ligne."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e) ; demande de la personne."),
        data_subjects=_("Personnes qui demandent de l'aide, et les proches qui demandent pour "
                        "elles."),
        data_categories=_("Nom, téléphone, courriel, sujet, message, moment pour rappeler, "
                          "suite donnée."),
        recipients=_("Médiateurs et administrateurs de la collectivité."),
        retention=_("Comme les fiches usagers auxquelles elles sont rattachées."),
        security=_("File réservée aux médiateurs ; limitation des envois par adresse."),
        export=_help_requests, erase=_erase_help_requests))
    register(ProcessingActivity(
        key="crm.mandates", module="crm", name=_("Mandats d'aide aux démarches"),
        purpose=_("Permettre à un aidant de faire des démarches à la place d'une personne, "
                  "avec son accord, dans les domaines et pour la durée qu'elle choisit."),
        legal_basis=_("Consentement de la personne (RGPD art. 6.1.a), recueilli par code ou "
                      "mandat signé."),
        data_subjects=_("Personnes qui donnent un mandat ; aidants."),
        data_categories=_("Domaines, durée, mode et date du consentement, mandat signé et son "
                          "empreinte, journal de chaque utilisation."),
        recipients=_("L'aidant, la personne, les administrateurs."),
        retention=_("Comme la fiche usager ; le journal n'est jamais modifié."),
        security=_("Inutilisable sans consentement ; journal scellé par empreintes "
                   "SHA-256 ; révocable à tout moment par la personne."),
        export=_mandates, erase=_keep_mandates))
    register(ProcessingActivity(
        key="crm.counter_scans", module="crm", name=_("Documents numérisés à l'accueil"),
        purpose=_("Garder une copie des pièces qu'une personne présente à l'accueil, la joindre "
                  "à sa fiche ou à un dossier, et retrouver sa fiche par le texte du document."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e) ; démarche de la personne."),
        data_subjects=_("Usagers reçus à l'accueil, et les personnes citées dans leurs "
                        "documents."),
        data_categories=_("Image ou PDF du document, texte lu automatiquement (OCR) : selon la "
                          "pièce, état civil, adresse, ressources…"),
        recipients=_("Le service qui l'a numérisé, la direction et les administrateurs ; les "
                     "agents qui traitent le dossier auquel il est joint."),
        retention=_("Comme la fiche usager ; joint à un dossier, comme le dossier."),
        security=_("Fichiers vérifiés par leur contenu et servis après contrôle des droits, "
                   "chaque téléchargement journalisé ; texte lu sur le serveur (Tesseract), "
                   "sans service tiers."),
        export=_scans, erase=_erase_scans))
    register(ProcessingActivity(
        key="crm.mail", module="crm", name=_("Courriels reçus et envoyés par les services"),
        purpose=_("Recevoir les courriels des usagers sur les adresses des services, les "
                  "rattacher à leur fiche et leur répondre (décision 0467)."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e) ; demande de la personne."),
        data_subjects=_("Personnes qui écrivent aux adresses des services."),
        data_categories=_("Adresse et nom de l'expéditeur, destinataires, objet, texte, pièces "
                          "jointes, message d'origine complet, réponses des agents."),
        recipients=_("Les agents du service destinataire, la direction et les "
                     "administrateurs."),
        retention=_("Comme les fiches usagers auxquelles ils sont rattachés ; les courriels "
                    "jamais rattachés, au plus la durée de conservation des données "
                    "personnelles fixée par la collectivité."),
        security=_("Lecture réservée au service destinataire, chaque lecture journalisée ; "
                   "pièces jointes contrôlées par leur contenu et l'antivirus ; texte HTML "
                   "jamais affiché tel quel."),
        export=_mails, erase=_erase_mails))
