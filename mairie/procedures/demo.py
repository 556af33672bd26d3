"""The demo's ready-made procedures, built with the engine's own data model and published
through `services.publish_version` (so the schemas pass the same validation as the builder's).

Called at the end of `mairie.core.demo.loader.load_demo`. Idempotent: a procedure found by its
slug is left alone (a tester may have changed it), and demo dossiers are only created for a
procedure that has none yet.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.contrib.auth import get_user_model
from django.utils import timezone

from mairie.core.organisation.models import Role, Service
from mairie.core.tenancy.models import Organisation

from .models import (
    Audience,
    Dossier,
    DossierEvent,
    ProcedureDefinition,
    Theme,
    Workflow,
    WorkflowRoleMapping,
)
from .services import allocate_number, publish_version

THEMES = (("etat-civil", "État civil et citoyenneté", 10),
          ("espace-public", "Voirie et espace public", 20))

SIMPLE_WORKFLOW = {
    "name": "Traitement simple (délivrance)",
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted"},
        {"key": "delivre", "label": "Délivré", "kind": "final"},
        {"key": "refuse", "label": "Refusé", "kind": "final"},
    ],
    "transitions": [
        {"key": "delivrer", "label": "Délivrer", "from": "depose", "to": "delivre",
         "role": "instructor", "guard": "", "required_fields": [], "actions": ["notify"]},
        {"key": "refuser", "label": "Refuser", "from": "depose", "to": "refuse",
         "role": "instructor", "guard": "", "required_fields": ["motivation"],
         "actions": ["notify"]},
    ],
}

REPORT_WORKFLOW = {
    "name": "Signalement (prise en charge)",
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "recu", "label": "Reçu", "kind": "submitted"},
        {"key": "pris_en_charge", "label": "Pris en charge", "kind": "instruction"},
        {"key": "resolu", "label": "Résolu", "kind": "final"},
        {"key": "sans_suite", "label": "Classé sans suite", "kind": "final"},
    ],
    "transitions": [
        {"key": "prendre", "label": "Prendre en charge", "from": "recu",
         "to": "pris_en_charge", "role": "instructor", "guard": "", "required_fields": [],
         "actions": ["notify"]},
        {"key": "resoudre", "label": "Marquer comme résolu", "from": "pris_en_charge",
         "to": "resolu", "role": "instructor", "guard": "", "required_fields": [],
         "actions": ["notify"]},
        {"key": "classer", "label": "Classer sans suite", "from": "recu", "to": "sans_suite",
         "role": "instructor", "guard": "", "required_fields": ["motivation"],
         "actions": ["notify"]},
    ],
}

CIVIL_STATUS_SCHEMA = {"pages": [
    {"key": "acte", "title": "L'acte demandé", "condition": "", "fields": [
        {"key": "type_acte", "type": "choice", "label": "Type d'acte", "required": True,
         "options": {"choices": [{"value": "naissance", "label": "Acte de naissance"},
                                 {"value": "mariage", "label": "Acte de mariage"},
                                 {"value": "deces", "label": "Acte de décès"}]}},
        {"key": "forme", "type": "choice", "label": "Forme de l'acte", "required": True,
         "options": {"choices": [
             {"value": "copie_integrale", "label": "Copie intégrale"},
             {"value": "extrait_filiation", "label": "Extrait avec filiation"},
             {"value": "extrait_sans_filiation", "label": "Extrait sans filiation"}]}},
        {"key": "nom_acte", "type": "text", "label": "Nom de la personne concernée",
         "required": True, "help": "Nom de naissance"},
        {"key": "prenoms_acte", "type": "text", "label": "Prénoms", "required": True},
        {"key": "date_evenement", "type": "date", "label": "Date de l'événement",
         "required": True, "options": {"max": "today"}},
    ]},
    {"key": "demandeur", "title": "Vous et l'envoi", "condition": "", "fields": [
        {"key": "lien", "type": "choice", "label": "Votre lien avec la personne",
         "required": True,
         "options": {"choices": [{"value": "moi", "label": "C'est moi"},
                                 {"value": "parent", "label": "Parent"},
                                 {"value": "conjoint", "label": "Conjoint ou conjointe"},
                                 {"value": "enfant", "label": "Enfant ou petit-enfant"},
                                 {"value": "autre", "label": "Autre (à préciser)"}]}},
        {"key": "precision_lien", "type": "textarea", "label": "Précisez votre qualité",
         "required": True, "condition": 'lien == "autre"',
         "help": "Un notaire, un avocat… peut demander une copie intégrale."},
        {"key": "courriel", "type": "email", "label": "Votre adresse électronique",
         "required": True, "prefill": "user.email"},
        {"key": "adresse_envoi", "type": "address", "label": "Adresse d'envoi de l'acte",
         "required": True},
    ]},
]}

REPORT_SCHEMA = {"pages": [
    {"key": "signalement", "title": "Votre signalement", "condition": "", "fields": [
        {"key": "categorie", "type": "choice", "label": "Catégorie", "required": True,
         "options": {"choices": [
             {"value": "voirie", "label": "Chaussée ou trottoir abîmé (nid-de-poule…)"},
             {"value": "eclairage", "label": "Éclairage public en panne"},
             {"value": "proprete", "label": "Propreté, dépôt sauvage"},
             {"value": "mobilier", "label": "Mobilier urbain cassé"},
             {"value": "autre", "label": "Autre problème"}]}},
        {"key": "lieu", "type": "address", "label": "Lieu du problème", "required": True,
         "help": "L'adresse la plus proche, ou un repère dans le champ « Rue »."},
        {"key": "description", "type": "textarea", "label": "Description", "required": True},
        {"key": "photo", "type": "file", "label": "Photo (facultative)", "required": False,
         "options": {"allowed": ["image/jpeg", "image/png"], "max_mb": 10}},
    ]},
]}


def _theme(org: Organisation, slug: str) -> Theme:
    name, position = next((n, p) for s, n, p in THEMES if s == slug)
    theme, _ = Theme.objects.get_or_create(organisation=org, slug=slug,
                                           defaults={"name": name, "position": position})
    return theme


def _workflow(org: Organisation, spec: dict) -> Workflow:
    workflow, _ = Workflow.objects.get_or_create(
        organisation=org, name=spec["name"],
        defaults={"states": spec["states"], "transitions": spec["transitions"],
                  "roles": spec["roles"]})
    return workflow


def _procedure(org, *, actor, slug, title, description, documents, service, theme, audience,
               schema, workflow, created: Counter) -> ProcedureDefinition:
    definition, was_created = ProcedureDefinition.objects.get_or_create(
        organisation=org, slug=slug,
        defaults={"title": title, "description": description,
                  "documents_to_prepare": documents, "service": service, "theme": theme,
                  "audience": audience})
    if was_created:
        created["procedures"] += 1
        WorkflowRoleMapping.objects.create(organisation=org, definition=definition,
                                           role="instructor", service=service)
    if definition.current_version_id is None:
        publish_version(actor=actor, definition=definition, schema=schema, workflow=workflow)
        definition.refresh_from_db()
    return definition


def _dossier(definition: ProcedureDefinition, *, applicant, email: str, data: dict, state: str,
             days_ago: int, created: Counter) -> Dossier:
    """A demo dossier written directly (a seed, like the rest of the demo), with its number
    and timeline as if it had gone through the filing pages."""
    version = definition.current_version
    assert version is not None  # published by _procedure
    workflow = version.workflow
    kind = workflow.state_kind(state)
    at = timezone.now() - datetime.timedelta(days=days_ago)
    dossier = Dossier.objects.create(
        organisation=definition.organisation, version=version, applicant=applicant,
        applicant_email=email, data=data, state=state,
        current_page=version.schema["pages"][-1]["key"] if kind == "draft" else "")
    DossierEvent.objects.create(organisation=dossier.organisation, dossier=dossier,
                                kind="started", actor=applicant, at=at)
    if kind != "draft":
        dossier.number = allocate_number(dossier.organisation, year=timezone.localtime(at).year)
        dossier.submitted_at = at
        dossier.save(update_fields=["number", "submitted_at"])
        DossierEvent.objects.create(organisation=dossier.organisation, dossier=dossier,
                                    kind="submitted", actor=applicant, at=at,
                                    details={"number": dossier.number})
        if kind != "submitted":
            DossierEvent.objects.create(
                organisation=dossier.organisation, dossier=dossier, kind="state_changed",
                at=at + datetime.timedelta(days=1), details={"to": state})
    created["dossiers"] += 1
    return dossier


def load_procedures_demo(org: Organisation, *, resident_emails: list[str]) -> Counter:
    """Create the demo procedures of `org` and a few dossiers; returns what was created."""
    User = get_user_model()
    created: Counter = Counter()
    actor = User.objects.filter(organisation=org, memberships__role=Role.ADMINISTRATOR).first()
    services = {s.slug: s for s in Service.objects.filter(organisation=org)}
    civil = _procedure(
        org, actor=actor, slug="acte-etat-civil", title="Demande d'acte d'état civil",
        description=("Demandez une copie ou un extrait d'acte de naissance, de mariage ou de "
                     "décès enregistré à Valmont. L'acte vous est envoyé par courrier, "
                     "gratuitement."),
        documents=("Aucun document n'est nécessaire. Munissez-vous des noms, prénoms et de la "
                   "date de l'événement."),
        service=services["accueil-etat-civil"], theme=_theme(org, "etat-civil"),
        audience=Audience.ANYONE, schema=CIVIL_STATUS_SCHEMA,
        workflow=_workflow(org, SIMPLE_WORKFLOW), created=created)
    report = _procedure(
        org, actor=actor, slug="signalement-espace-public",
        title="Signalement sur l'espace public",
        description=("Un nid-de-poule, un lampadaire en panne, un dépôt sauvage ? Signalez-le "
                     "aux services techniques, avec ou sans compte."),
        documents="Une photo du problème peut aider les équipes (facultatif).",
        service=services["services-techniques"], theme=_theme(org, "espace-public"),
        audience=Audience.ANYONE, schema=REPORT_SCHEMA,
        workflow=_workflow(org, REPORT_WORKFLOW), created=created)

    residents = list(User.objects.filter(organisation=org, email__in=resident_emails)
                     .order_by("email"))
    residents.sort(key=lambda u: resident_emails.index(u.email))
    if len(residents) < 2:
        return created
    first, second = residents[0], residents[1]
    address = {"street": "12 rue des Tilleuls", "postcode": "42000", "city": "Valmont"}
    if not Dossier.objects.filter(version__definition=civil).exists():
        base = {"type_acte": "naissance", "forme": "extrait_filiation", "lien": "moi",
                "adresse_envoi": address}
        _dossier(civil, applicant=first, email=first.email, state="brouillon", days_ago=1,
                 data={**base, "nom_acte": first.last_name}, created=created)
        _dossier(civil, applicant=first, email=first.email, state="depose", days_ago=3,
                 data={**base, "nom_acte": first.last_name, "prenoms_acte": first.first_name,
                       "date_evenement": "1985-04-12", "courriel": first.email},
                 created=created)
        _dossier(civil, applicant=second, email=second.email, state="delivre", days_ago=20,
                 data={**base, "type_acte": "mariage", "forme": "copie_integrale",
                       "nom_acte": second.last_name, "prenoms_acte": second.first_name,
                       "date_evenement": "2012-06-30", "courriel": second.email},
                 created=created)
    if not Dossier.objects.filter(version__definition=report).exists():
        _dossier(report, applicant=None, email="", state="recu", days_ago=0, created=created,
                 data={"categorie": "eclairage", "lieu": {"street": "Place de la Mairie",
                                                          "postcode": "42000",
                                                          "city": "Valmont"},
                       "description": "Le lampadaire devant la boulangerie ne s'allume plus."})
        _dossier(report, applicant=first, email=first.email, state="pris_en_charge",
                 days_ago=5, created=created,
                 data={"categorie": "voirie", "lieu": address,
                       "description": "Nid-de-poule profond sur la chaussée, côté pair."})
        _dossier(report, applicant=second, email=second.email, state="resolu", days_ago=30,
                 created=created,
                 data={"categorie": "proprete", "lieu": {"street": "Chemin du Lavoir",
                                                         "postcode": "42000",
                                                         "city": "Valmont"},
                       "description": "Dépôt sauvage de gravats à l'entrée du chemin."})
    return created
