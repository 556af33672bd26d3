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


def _keep_dossiers(user, organisation) -> dict:
    """Dossiers are kept under their procedure's retention rule (the law sets it), which
    deletes or anonymises them in time; the erasure does not bypass it."""
    from django.utils.translation import gettext as _

    from .models import Dossier
    from .models_retention import RetentionPolicy

    policies = {p.definition_id: p for p in RetentionPolicy.objects.filter(
        definition__organisation=organisation)}
    kept = []
    for dossier in (Dossier.objects.filter(organisation=organisation, applicant=user,
                                           submitted_at__isnull=False)
                    .select_related("version__definition")):
        policy = policies.get(dossier.version.definition_id)
        if dossier.decided_at is None:
            rule = _("en cours d'instruction : gardé jusqu'à la décision")
        elif policy is not None and policy.months:
            rule = _("gardé %(n)s mois après la décision, puis %(mode)s (règle de la "
                     "démarche)") % {"n": policy.months, "mode": policy.get_mode_display()}
        else:
            rule = _("gardé sans limite fixée par la démarche : à revoir avec son service")
        kept.append(_("dossier n° %(number)s (%(procedure)s), %(rule)s") % {
            "number": dossier.number, "procedure": dossier.version.definition.title,
            "rule": rule})
    drafts, _rows = Dossier.objects.filter(organisation=organisation, applicant=user,
                                           submitted_at__isnull=True).delete()
    erased = [_("%(n)s brouillons supprimés") % {"n": drafts}] if drafts else []
    return {"erased": [str(e) for e in erased], "kept": [str(k) for k in kept]}


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
        export=_dossiers, erase=_keep_dossiers))
