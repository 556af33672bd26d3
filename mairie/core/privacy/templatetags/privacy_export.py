"""Rendering a person's data in the readable PDF copy: nested rows as nested tables, keys as
French labels (the JSON copy keeps the stable keys)."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

LABELS = {
    "email": _("Courriel"), "first_name": _("Prénom"), "last_name": _("Nom"),
    "birth_name": _("Nom de naissance"), "birth_date": _("Date de naissance"),
    "phone": _("Téléphone"), "language": _("Langue"), "date_joined": _("Inscrit le"),
    "last_login": _("Dernière connexion"), "roles": _("Rôles"), "role": _("Rôle"),
    "service": _("Service"), "at": _("Date"), "title": _("Titre"), "body": _("Message"),
    "link": _("Lien"), "read_at": _("Lue le"), "emailed_at": _("Envoyée par courriel le"),
    "number": _("Numéro"), "procedure": _("Démarche"), "state": _("État"),
    "started_at": _("Commencé le"), "submitted_at": _("Déposé le"),
    "decided_at": _("Décidé le"), "answers": _("Réponses"), "question": _("Question"),
    "answer": _("Réponse"), "messages": _("Messages"), "from": _("De"), "text": _("Texte"),
    "address": _("Adresse"), "postal_code": _("Code postal"), "city": _("Commune"),
    "preferred_channel": _("Moyen de contact préféré"),
    "front_desk_notes": _("Remarques d'accueil"), "contacts": _("Contacts"),
    "channel": _("Canal"), "subject": _("Objet"), "outcome": _("Suite donnée"),
    "report": _("Compte rendu"), "reference": _("Référence"), "name": _("Nom"),
    "relative": _("Proche"), "topic": _("Sujet"), "message": _("Message"),
    "status": _("État"),
    "mediator": _("Aidant"), "domains": _("Domaines"), "consented_at": _("Accord donné le"),
    "expires_at": _("Expire le"), "revoked_at": _("Révoqué le"), "journal": _("Journal"),
    "by": _("Par"), "what": _("Quoi"),
    # Appointments and booking (issue 6).
    "type": _("Type"), "place": _("Lieu"), "start": _("Début"), "end": _("Fin"),
    "attendance": _("Présence"), "booked_at": _("Réservé le"),
    "cancelled_at": _("Annulé le"), "dossier": _("Dossier"),
    "registered_at": _("Inscrit le"), "wanted_until": _("Jusqu'au"),
    "told_at": _("Dernier avis le"), "ended_at": _("Terminé le"),
    "resource": _("Ressource"), "kind": _("Type"), "recurring": _("Série"),
    "refusal_reason": _("Motif du refus"), "item": _("Matériel"),
    "inventory_number": _("Numéro d'inventaire"), "checked_out_at": _("Prêté le"),
    "due_on": _("À rendre le"), "returned_at": _("Rendu le"),
    "condition_out": _("État au départ"), "condition_in": _("État au retour"),
}


@register.filter
def label(key) -> str:
    return str(LABELS.get(key, str(key).replace("_", " ")))


@register.filter
def kind(value) -> str:
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list | tuple):
        return "list"
    return "none" if value in (None, "") else "scalar"


@register.filter
def readable(value) -> str:
    """ISO dates and times as people read them ("06/12/2026 22:14"), other values as is."""
    import datetime
    import re

    from django.utils import timezone

    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+([+-]\d{2}:\d{2})?)?$",
                                           value):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        if "T" not in value:
            return moment.strftime("%d/%m/%Y")
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%d/%m/%Y %H:%M")
    if value is True:
        return str(_("oui"))
    if value is False:
        return str(_("non"))
    return str(value)
