"""The core's own processing activities: accounts, notifications, the audit trail."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .registry import ProcessingActivity, iso, register


def _account(user, organisation) -> list[dict]:
    from mairie.core.organisation.models import Membership

    roles = [{"role": m.get_role_display(), "service": m.service.name}
             for m in Membership.objects.filter(user=user, organisation=organisation)
             .select_related("service")]
    return [{"email": user.email, "first_name": user.first_name, "last_name": user.last_name,
             "phone": user.phone, "language": user.language,
             "date_joined": iso(user.date_joined), "last_login": iso(user.last_login),
             "roles": roles}]


def _notifications(user, organisation) -> list[dict]:
    from mairie.core.notifications.models import Notification

    return [{"at": iso(n.created_at), "title": n.title, "body": n.body, "link": n.url,
             "read_at": iso(n.read_at), "emailed_at": iso(n.emailed_at)}
            for n in Notification.objects.filter(recipient=user, organisation=organisation)
            .order_by("created_at")]


def _erase_notifications(user, organisation) -> dict:
    from mairie.core.notifications.models import Notification

    count, _rows = Notification.objects.filter(recipient=user, organisation=organisation).delete()
    return {"erased": [str(_("%(n)s notifications supprimées") % {"n": count})]}


def _keep_account(user, organisation) -> dict:
    return {"kept": [str(_("le compte reste ouvert : la personne le ferme depuis « Mon compte » "
                           "(ses données propres partent alors avec lui)."))]}


def _keep_audit(user, organisation) -> dict:
    return {"kept": [str(_("les entrées du journal d'audit restent (traçabilité, obligation de "
                           "sécurité) ; elles ne contiennent ni réponses ni messages."))]}


def register_core() -> None:
    register(ProcessingActivity(
        key="core.accounts", module="core", name=_("Comptes des usagers et des agents"),
        purpose=_("Se connecter aux services en ligne et à l'espace agent ; sécuriser l'accès "
                  "(double authentification)."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e) ; consentement pour la "
                      "création d'un compte par l'usager."),
        data_subjects=_("Usagers ayant créé un compte ; agents et élus."),
        data_categories=_("Nom, prénom, adresse électronique, téléphone, langue, rôles, dates "
                          "de connexion, secret de double authentification (chiffré)."),
        recipients=_("Les agents habilités de la collectivité ; l'hébergeur."),
        retention=_("Tant que le compte existe ; supprimé à la demande de l'usager depuis "
                    "« Mon compte »."),
        security=_("Mots de passe hachés (Argon2/PBKDF2), double authentification pour les "
                   "agents, sessions sécurisées, journal d'audit."),
        export=_account, erase=_keep_account))
    register(ProcessingActivity(
        key="core.notifications", module="core", name=_("Notifications"),
        purpose=_("Prévenir les personnes de ce qui les concerne (dossiers, rendez-vous, "
                  "demandes)."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e)."),
        data_subjects=_("Usagers et agents destinataires."),
        data_categories=_("Titre, message, lien, dates de lecture et d'envoi par courriel."),
        recipients=_("Le destinataire seul."),
        retention=_("Supprimées avec l'objet qu'elles concernent (conservation des dossiers) "
                    "ou avec le compte."),
        security=_("Visibles du seul destinataire ; envoi par courriel selon ses "
                   "préférences."),
        export=_notifications, erase=_erase_notifications))
    register(ProcessingActivity(
        key="core.audit", module="core", name=_("Journal d'audit"),
        purpose=_("Tracer les actions et les consultations sensibles, pour la sécurité et le "
                  "contrôle."),
        legal_basis=_("Obligation légale et mission de service public (RGPD art. 6.1.c et e)."),
        data_subjects=_("Agents et usagers qui agissent dans la plateforme."),
        data_categories=_("Auteur, action, objet (numéro, sans les réponses), date, adresse IP, "
                          "navigateur."),
        recipients=_("Administrateurs de la collectivité ; délégué à la protection des "
                     "données."),
        retention=_("Selon la durée de conservation des données personnelles fixée par la "
                    "collectivité."),
        security=_("Chaîne d'empreintes SHA-256 vérifiable (python -m mairie audit verify), "
                   "lecture réservée aux administrateurs."),
        export=None, erase=_keep_audit))
