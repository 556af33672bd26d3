"""How each kind of timeline event (`DossierEvent.kind`) reads, for agents and applicants.

One registry, two sections: the engine's kinds (transitions, validations, documents) and the
processing kinds (messages, corrections, opinions…). Templates call `describe(event)`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from .models import DossierEvent

Describer = Callable[[DossierEvent], str]

# --- Filing --------------------------------------------------------------------------------
DESCRIBERS: dict[str, Describer] = {
    "started": lambda event: (
        _("Dossier ouvert pour le demandeur par %(agent)s (accueil ou téléphone)")
        % {"agent": (event.details or {}).get("filed_by", "")}
        if (event.details or {}).get("on_behalf") and (event.details or {}).get("filed_by")
        else _("Dossier commencé")),
    "submitted": lambda event: _("Dossier déposé"),
}

# --- Workflow engine (workflow.py) ----------------------------------------------------------


def _transition(event: DossierEvent) -> str:
    details = event.details or {}
    text = _("%(label)s : le dossier est maintenant « %(state)s »") % {
        "label": details.get("label") or details.get("key", ""),
        "state": details.get("public_label") or details.get("to_label") or details.get("to")}
    motivation = (details.get("values") or {}).get("motivation")
    return f"{text}. " + _("Motif : %(motivation)s") % {"motivation": motivation} \
        if motivation else text


def _validation(event: DossierEvent) -> str:
    details = event.details or {}
    if details.get("decision") == "reject":
        verdict = _("renvoyé")
    else:
        verdict = _("signé") if details.get("signature") else _("validé")
    return _("Validation de l'étape « %(step)s » : %(verdict)s") % {
        "step": details.get("step", ""), "verdict": verdict}


def _state_entered(event: DossierEvent) -> str:
    details = event.details or {}
    if details.get("reason") == "correction_answered":
        return _("Corrections reçues : le dossier revient à l'état « %(state)s »") % {
            "state": details.get("label") or details.get("state")}
    return _("Le dossier passe à l'état « %(state)s »") % {
        "state": details.get("label") or details.get("state")}


DESCRIBERS.update({
    "transition": _transition,
    "validation": _validation,
    "document": lambda event: _("Document disponible : %(title)s") % {
        "title": (event.details or {}).get("title", "")},
    "state_entered": _state_entered,
})

# --- Processing (processing.py) -------------------------------------------------------------


def _message(event: DossierEvent) -> str:
    if (event.details or {}).get("from_applicant"):
        return _("Message du demandeur")
    return _("Message du service")


def _fields(event: DossierEvent) -> str:
    return ", ".join(str(label) for label in (event.details or {}).get("fields", []))


def _assigned(event: DossierEvent) -> str:
    name = (event.details or {}).get("to_name")
    return (_("Dossier attribué à %(name)s") % {"name": name} if name
            else _("Dossier libéré : plus personne ne le suit"))


DESCRIBERS.update({
    "message": _message,
    "annotation": lambda event: _("Annotation privée ajoutée"),
    "labels": lambda event: _("Étiquettes : %(labels)s") % {
        "labels": ", ".join((event.details or {}).get("labels", [])) or _("aucune")},
    "assigned": _assigned,
    "opinion_requested": lambda event: _("Avis demandé à : %(service)s") % {
        "service": (event.details or {}).get("service", "")},
    "opinion_given": lambda event: _("Avis rendu par : %(service)s") % {
        "service": (event.details or {}).get("service", "")},
    "correction_requested": lambda event: _("Corrections demandées au demandeur : "
                                            "%(fields)s") % {"fields": _fields(event)},
    "correction_answered": lambda event: _("Corrections apportées par le demandeur : "
                                           "%(fields)s") % {"fields": _fields(event)},
})

# --- Automation (automation.py, issue 4) ------------------------------------------------------
# What "the system" did says so, with the rule: « …, par le système (règle « X ») ».


def _by_system(describer: Describer) -> Describer:
    def describe_system(event: DossierEvent) -> str:
        details = event.details or {}
        if not details.get("system"):
            return describer(event)
        if details.get("silence"):
            from .automation import silence_text

            text = _("%(why)s : le dossier passe à l'état « %(state)s »") % {
                "why": silence_text(details["silence"], details.get("days"),
                                    details.get("deadline", "")),
                "state": details.get("label") or details.get("state")}
        else:
            text = describer(event)
        return _("%(text)s — par le système (règle « %(rule)s »)") % {
            "text": text, "rule": details.get("rule", "")}
    return describe_system


for _kind in ("transition", "state_entered", "assigned", "document"):
    DESCRIBERS[_kind] = _by_system(DESCRIBERS[_kind])

# --- Retention (retention.py, issue 4) --------------------------------------------------------
DESCRIBERS.update({
    "identity_documents_deleted": lambda event: _(
        "Pièces d'identité supprimées après la décision : %(fields)s — par le système "
        "(règle « conservation »)") % {"fields": _fields(event)},
    "anonymised": lambda event: _(
        "Dossier anonymisé à la fin de sa durée de conservation — par le système "
        "(règle « conservation »)"),
})


def register_describer(kind: str, describer: Describer) -> None:
    """How an event another module writes on the timeline reads (`services.add_agent_event`,
    e.g. crm's documents scanned at the counter). Kinds are prefixed with the app label."""
    DESCRIBERS[kind] = describer


def describe(event: DossierEvent) -> str:
    describer = DESCRIBERS.get(event.kind)
    return describer(event) if describer else event.kind
