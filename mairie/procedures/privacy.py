"""What the procedures engine declares about personal data (GDPR art. 30), and a person's
dossiers in their copy of their data ("Mes données")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mairie.core.privacy.registry import ProcessingActivity, iso, register


def _dossiers(user, organisation) -> list[dict]:
    from . import schema as schema_helpers
    from .models import Dossier
    from .workflow import public_state_label

    rows = []
    for dossier in (Dossier.objects.filter(organisation=organisation, applicant=user)
                    .select_related("version__definition", "version__workflow")
                    .prefetch_related("messages").order_by("created_at")):
        answers = schema_helpers.answers_summary(dossier.version.schema, dossier.data)
        rows.append({
            "number": dossier.number or None,
            "procedure": dossier.version.definition.title,
            "state": public_state_label(dossier.version.workflow, dossier.state),
            "started_at": iso(dossier.created_at), "submitted_at": iso(dossier.submitted_at),
            "decided_at": iso(dossier.decided_at),
            "answers": [{"question": str(label), "answer": str(value)}
                        for label, value in answers],
            "messages": [{"at": iso(m.created_at),
                          "from": "vous" if m.from_applicant else "la mairie", "text": m.body}
                         for m in sorted(dossier.messages.all(), key=lambda m: m.created_at)],
        })
    return rows


def register_privacy() -> None:
    register(ProcessingActivity(
        key="procedures.dossiers", module="procedures", name=_("Démarches en ligne"),
        purpose=_("Instruire les demandes des usagers (aides, signalements, actes d'état "
                  "civil…), les décider et leur répondre."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e) ; obligation légale pour "
                      "certaines démarches."),
        data_subjects=_("Demandeurs, et les personnes dont ils parlent dans leur demande."),
        data_categories=_("Réponses au formulaire, pièces jointes, messages, état et dates du "
                          "dossier, décision et sa motivation."),
        recipients=_("Les agents des services qui instruisent la démarche, et ceux consultés "
                     "pour avis."),
        retention=_("Durée fixée par chaque démarche après la décision, puis suppression ou "
                    "anonymisation ; les pièces d'identité dès la décision."),
        security=_("Accès par rôle et par service, chaque consultation d'un dossier "
                   "journalisée, pièces analysées par l'antivirus."),
        export=_dossiers))
