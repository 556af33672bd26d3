"""The demo's ready-made procedures, built with the engine's own data model and published
through `services.publish_version` (so the schemas pass the same validation as the builder's).

Four procedures: civil-status certificates (État civil), public-space reports (Services
techniques, anonymous allowed), an emergency aid for businesses with a validation and
signature chain (Développement économique → head → DGS → the mayor), and the agents' telework
request (hierarchical opinion, HR). Their workflows' roles are mapped to the demo's services
(`WorkflowRoleMapping`).

Called at the end of `mairie.core.demo.loader.load_demo`. Idempotent: a procedure found by its
slug is left alone (a tester may have changed it), and demo dossiers are only created for a
procedure that has none yet. Dossiers are seeds written directly with back-dated histories
(timeline, validations, messages…), as if agents had processed them over the past weeks; the
last step of a decided emergency aid goes through the engine (`workflow.apply_transition`), so
its decision letter is the real generated PDF.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.contrib.auth import get_user_model
from django.utils import timezone

from mairie.core.organisation.models import Role, Service
from mairie.core.tenancy.models import Organisation

from . import demo_data
from .models import (
    Audience,
    CorrectionRequest,
    Dossier,
    DossierAnnotation,
    DossierEvent,
    DossierMessage,
    DossierValidation,
    Label,
    ProcedureDefinition,
    Theme,
    Workflow,
    WorkflowRoleMapping,
)
from .services import allocate_number, publish_version

THEMES = (("etat-civil", "État civil et citoyenneté", 10),
          ("espace-public", "Voirie et espace public", 20),
          ("economie", "Économie et emploi", 30),
          ("interne", "Démarches internes (agents)", 90))

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
                  "roles": spec["roles"], "documents": spec.get("documents", {})})
    return workflow


def _procedure(org, *, actor, slug, title, description, documents, service, theme, audience,
               schema, workflow, created: Counter,
               mappings: dict[str, tuple[Service, str]] | None = None,
               mandate_domain: str = "") -> ProcedureDefinition:
    """The procedure `slug`, created and published when missing. `mappings`: workflow role →
    (service, membership role or "" for every member); default: "instructor" → `service`."""
    definition, was_created = ProcedureDefinition.objects.get_or_create(
        organisation=org, slug=slug,
        defaults={"title": title, "description": description,
                  "documents_to_prepare": documents, "service": service, "theme": theme,
                  "audience": audience, "mandate_domain": mandate_domain})
    if was_created:
        created["procedures"] += 1
        for role, (mapped, membership_role) in (
                mappings or {"instructor": (service, "")}).items():
            WorkflowRoleMapping.objects.create(organisation=org, definition=definition,
                                               role=role, service=mapped,
                                               membership_role=membership_role)
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
        workflow=_workflow(org, SIMPLE_WORKFLOW), created=created, mandate_domain="papers")
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
    load_rich_procedures_demo(org, actor=actor, residents=residents, services=services,
                              created=created)
    if len(residents) < 2:
        return _indexed(org, created)
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
        pothole = _dossier(report, applicant=first, email=first.email, state="recu",
                           days_ago=5, created=created,
                           data={"categorie": "voirie", "lieu": address,
                                 "description": "Nid-de-poule profond sur la chaussée, côté "
                                                "pair."})
        technicians = _members(org, "services-techniques", Role.AGENT)
        if technicians:
            technician = technicians[0]
            road, _created = Label.objects.get_or_create(
                organisation=org, name="Voirie", defaults={"colour": Label.Colour.BLUE,
                                                           "definition": report})
            (_Story(pothole, start=pothole.submitted_at)
             .step("prendre", technician, days=1).assign(technician, technician)
             .label(technician, road)
             .message(technician, "Merci pour votre signalement. Une équipe interviendra "
                                  "en fin de semaine pour reboucher le trou.")
             .annotate(technician, "Prévoir de l'enrobé à froid ; signalisation provisoire "
                                   "posée."))
            pothole.save()
        _dossier(report, applicant=second, email=second.email, state="resolu", days_ago=30,
                 created=created,
                 data={"categorie": "proprete", "lieu": {"street": "Chemin du Lavoir",
                                                         "postcode": "42000",
                                                         "city": "Valmont"},
                       "description": "Dépôt sauvage de gravats à l'entrée du chemin."})
    return _indexed(org, created)


def _indexed(org: Organisation, created: Counter) -> Counter:
    """Fill the inbox's search text of the demo dossiers that have none yet."""
    from . import services

    update = getattr(services, "update_search_text", None)
    if update is not None:
        for dossier in (Dossier.objects.filter(organisation=org, search_text="")
                        .exclude(number="").select_related("version__definition",
                                                           "applicant")):
            update(dossier)
    return created


# The emergency aid and the telework request ----------------------------------------------------

def _submitted(dossier: Dossier) -> datetime.datetime:
    assert dossier.submitted_at is not None  # demo dossiers are written submitted
    return dossier.submitted_at


class _Story:
    """A dossier's back-dated history, told one transition at a time: each step writes what
    the engine writes (state and its dates, processing data, validation, timeline, assignment)
    at a date in the past, without notifying anyone."""

    def __init__(self, dossier: Dossier, *, start: datetime.datetime | None) -> None:
        self.dossier, self.at = dossier, start or timezone.now()
        self.workflow = dossier.version.workflow
        self.mappings = {m.role: m.service for m in WorkflowRoleMapping.objects.filter(
            definition_id=dossier.version.definition_id).select_related("service")}

    def _event(self, kind: str, actor, *, public: bool = True, **details) -> None:
        DossierEvent.objects.create(organisation=self.dossier.organisation,
                                    dossier=self.dossier, kind=kind, actor=actor, at=self.at,
                                    public=public, details=details)

    def step(self, key: str, actor, *, days: float, title: str = "", **values) -> _Story:
        dossier, workflow = self.dossier, self.workflow
        transition = next(t for t in workflow.transitions if t["key"] == key)
        self.at += datetime.timedelta(days=days)
        before, after = dossier.state, transition["to"]
        if transition.get("validation"):
            DossierValidation.objects.create(
                organisation=dossier.organisation, dossier=dossier, transition=key,
                step_label=workflow.state_label(before), role=transition["role"], actor=actor,
                actor_name=actor.get_full_name() or actor.email, actor_title=title,
                decision=(DossierValidation.Decision.APPROVED
                          if transition["validation"] == "approve"
                          else DossierValidation.Decision.REJECTED),
                signature=bool(transition.get("signature")),
                comment=values.get("comment") or values.get("motivation") or "", at=self.at)
            self._event("validation", actor, key=key, label=transition["label"],
                        decision=transition["validation"],
                        signature=bool(transition.get("signature")),
                        step=workflow.state_label(before))
        state = next(s for s in workflow.states if s["key"] == after)
        self._event("transition", actor, public=transition.get("public", True) is not False,
                    key=key, label=transition["label"], values=values,
                    **{"from": before, "to": after, "from_label": workflow.state_label(before),
                       "to_label": state["label"],
                       "public_label": state.get("public_label") or state["label"]})
        dossier.state, dossier.state_entered_at = after, self.at
        dossier.deadline_at = (self.at + datetime.timedelta(days=state["deadline_days"])
                               if state.get("deadline_days") else None)
        dossier.decided_at = self.at if state["kind"] == Workflow.Kind.FINAL else None
        dossier.processing_data = {**dossier.processing_data, **values}
        for action in transition.get("actions", []):
            if isinstance(action, dict) and action.get("type") == "assign":
                target = action.get("to")
                if target == "self":
                    self.assign(actor, actor)
                elif isinstance(target, str) and target.startswith("role:"):
                    dossier.assigned_service = self.mappings.get(
                        target[5:], dossier.version.definition.service)
                    dossier.assigned_to = None
        dossier.save()
        return self

    def assign(self, actor, to) -> _Story:
        self.dossier.assigned_to = to
        self.dossier.assigned_service = self.dossier.version.definition.service
        self._event("assigned", actor, public=False, to=str(to.pk), to_name=str(to),
                    previous=None)
        return self

    def message(self, author, body: str, *, days: float = 0.2) -> _Story:
        self.at += datetime.timedelta(days=days)
        from_applicant = author is not None and author.pk == self.dossier.applicant_id
        message = DossierMessage.objects.create(organisation=self.dossier.organisation,
                                                dossier=self.dossier, author=author, body=body,
                                                from_applicant=from_applicant)
        DossierMessage.objects.filter(pk=message.pk).update(created_at=self.at)
        self._event("message", author, from_applicant=from_applicant)
        return self

    def annotate(self, author, body: str) -> _Story:
        annotation = DossierAnnotation.objects.create(
            organisation=self.dossier.organisation, dossier=self.dossier, author=author,
            body=body)
        DossierAnnotation.objects.filter(pk=annotation.pk).update(created_at=self.at)
        self._event("annotation", author, public=False)
        return self

    def label(self, actor, *labels: Label) -> _Story:
        self.dossier.labels.add(*labels)
        self._event("labels", actor, public=False, labels=[label.name for label in labels])
        return self

    def correction(self, actor, *, fields: list[str], message: str) -> _Story:
        CorrectionRequest.objects.create(organisation=self.dossier.organisation,
                                         dossier=self.dossier, requested_by=actor,
                                         message=message, fields=fields,
                                         return_state="instruction")
        labels = [f.get("label") or f["key"] for _page in self.dossier.version.schema["pages"]
                  for f in _page.get("fields", []) if f.get("key") in fields]
        self._event("correction_requested", actor, fields=labels)
        return self


def _members(org: Organisation, service: str, role: str) -> list:
    User = get_user_model()
    return list(User.objects.filter(organisation=org, memberships__service__slug=service,
                                     memberships__role=role).order_by("email"))


def _finish(dossier: Dossier, actor, key: str, values: dict) -> Dossier:
    """The last step through the real engine: validation, timeline, the decision letter."""
    from . import workflow

    dossier.refresh_from_db()
    return workflow.apply_transition(actor=actor, dossier=dossier, key=key, values=values,
                                     lock_version=dossier.lock_version)


def _emergency_aid_dossiers(definition: ProcedureDefinition, residents: list,
                            created: Counter) -> None:
    org = definition.organisation
    eco = "developpement-economique"
    instructor = (_members(org, eco, Role.AGENT) or _members(org, eco, Role.MANAGER))[0]
    head = _members(org, eco, Role.MANAGER)[0]
    dgs = _members(org, "direction-generale", Role.DIRECTOR)[0]
    mayor = _members(org, "direction-generale", Role.ELECTED)[0]
    urgent, _ = Label.objects.get_or_create(organisation=org, name="Prioritaire",
                                            defaults={"colour": Label.Colour.RED})
    missing, _ = Label.objects.get_or_create(organisation=org, name="Pièce manquante",
                                             defaults={"colour": Label.Colour.ORANGE,
                                                       "definition": definition})
    head_title = f"{Role.MANAGER.label}, {head.memberships.first().service.name}"
    applicants = residents[2:8] if len(residents) >= 8 else residents
    businesses = [
        ("90123456700013", "Boulangerie du Lavoir", "commerce", "62",
         "Travaux de voirie : la rue est fermée depuis trois mois.", "4000"),
        ("81234567600017", "Le Bistrot de la Place", "restauration", "35", None, "2500"),
        ("43210987400011", "Menuiserie Caron", "artisanat", "55",
         "Incendie de l'atelier en septembre ; reprise partielle seulement.", "5000"),
        ("55500011600015", "Fleurs et Jardins", "commerce", "70",
         "Inondation du magasin lors de l'orage du 12 octobre.", "3500"),
        ("66778899600011", "Valmont Services Informatiques", "services", "52",
         "Perte de notre principal client.", "5000"),
        ("90123456700013", "Épicerie fine Delorme", "commerce", "20", None, "1500"),
    ]

    def file(index: int, state: str, days_ago: int) -> tuple[Dossier, _Story]:
        applicant = applicants[index % len(applicants)]
        siret, name, activity, loss, why, amount = businesses[index]
        data = {"siret": siret, "raison_sociale": name, "activite": activity,
                "adresse_etablissement": {"street": f"{3 + index * 7} rue du Commerce",
                                          "postcode": "99150", "city": "Valmont"},
                "perte_ca": loss, "montant": amount, "iban": "FR7630006000011234567890189"}
        if why:
            data["explication_perte"] = why
        dossier = _dossier(definition, applicant=applicant, email=applicant.email, data=data,
                           state=state, days_ago=days_ago, created=created)
        if state == "depose":
            dossier.state_entered_at = dossier.submitted_at
            dossier.deadline_at = _submitted(dossier) + datetime.timedelta(days=5)
            dossier.save()
        return dossier, _Story(dossier, start=dossier.submitted_at)

    # Just filed.
    file(0, "depose", 1)
    # In instruction: assigned, labelled, a question to the applicant and its answer.
    aid, story = file(1, "depose", 9)
    (story.step("prendre_en_charge", instructor, days=1)
     .label(instructor, urgent)
     .message(instructor, "Bonjour, pouvez-vous nous indiquer le nombre de salariés de votre "
                          "établissement ? Cordialement, le service Développement économique.")
     .message(aid.applicant, "Bonjour, nous sommes quatre, moi compris. Merci.", days=1)
     .annotate(instructor, "Établissement connu : déjà aidé en 2024 (fonds de soutien). "
                           "Vérifier le cumul avec le plafond communal."))
    aid.save()
    # Waiting for the applicant: an open correction request.
    aid, story = file(2, "depose", 12)
    (story.step("prendre_en_charge", instructor, days=1)
     .step("demander_complements", instructor, days=2)
     .correction(instructor, fields=["rib"],
                 message="Le relevé d'identité bancaire joint est illisible. Merci d'en "
                         "joindre un nouveau, au nom de l'entreprise.")
     .label(instructor, missing))
    aid.save()
    # Awaiting the DGS: the head approved the proposal.
    aid, story = file(3, "depose", 15)
    (story.step("prendre_en_charge", instructor, days=1)
     .step("proposer", instructor, days=3, proposition="accord", montant_accorde="3500",
           motivation="Perte de chiffre d'affaires de 70 % consécutive à l'inondation, "
                      "justifiée par l'attestation de l'assureur.")
     .step("valider_chef", head, days=1, title=head_title,
           comment="D'accord avec la proposition."))
    aid.save()
    # Decided: granted (the mayor signs through the engine) and refused.
    for index, (proposition, motivation, last) in enumerate((
            ("accord", "L'entreprise remplit les conditions du règlement de l'aide : perte de "
                       "chiffre d'affaires supérieure à 50 % liée à un sinistre.",
             "signer_accord"),
            ("refus", "La perte de chiffre d'affaires (20 %) est inférieure au seuil de 50 % "
                      "fixé par le règlement de l'aide.", "signer_refus")), start=4):
        aid, story = file(index, "depose", 30 + index)
        (story.step("prendre_en_charge", instructor, days=1)
         .step("proposer", instructor, days=4, proposition=proposition,
               motivation=motivation)
         .step("valider_chef", head, days=1, title=head_title, comment="")
         .step("valider_dgs", dgs, days=2, comment="",
               title=f"{Role.DIRECTOR.label}, {dgs.memberships.first().service.name}"))
        aid.save()
        _finish(aid, mayor, last, {"comment": ""})


def _telework_dossiers(definition: ProcedureDefinition, created: Counter) -> None:
    org = definition.organisation
    User = get_user_model()
    hr = (_members(org, "ressources-humaines", Role.AGENT)
          or _members(org, "ressources-humaines", Role.MANAGER))[0]
    dgs = _members(org, "direction-generale", Role.DIRECTOR)[0]
    agents = list(User.objects.filter(
        organisation=org, memberships__role=Role.AGENT,
        memberships__service__slug__in=["services-techniques", "urbanisme", "numerique",
                                        "action-sociale"]).distinct().order_by("email")[:5])
    if len(agents) < 5:
        return
    title = f"{Role.DIRECTOR.label}, {dgs.memberships.first().service.name}"
    base = {"espace_adapte": True}

    def file(agent, days_ago: int, days: list[str], start: str, **data) -> _Story:
        dossier = _dossier(definition, applicant=agent, email=agent.email,
                           data={**base, "jours": days, "date_debut": start, **data},
                           state="avis_responsable", days_ago=days_ago, created=created)
        dossier.state_entered_at = dossier.submitted_at
        dossier.deadline_at = _submitted(dossier) + datetime.timedelta(days=10)
        dossier.save()
        return _Story(dossier, start=dossier.submitted_at)

    today = timezone.localdate()
    soon = (today + datetime.timedelta(days=21)).isoformat()
    past = (today - datetime.timedelta(days=60)).isoformat()
    file(agents[0], 2, ["mardi", "jeudi"], soon)
    story = file(agents[1], 6, ["vendredi"], soon, precisions="Pour les dossiers de fond.")
    story.step("avis_favorable", dgs, days=2, title=title, comment="Favorable.")
    story.dossier.save()
    story = file(agents[2], 80, ["lundi", "mercredi"], past)
    (story.step("avis_favorable", dgs, days=2, title=title, comment="")
     .step("valider_rh", hr, days=3, comment="Convention de télétravail signée."))
    story.dossier.save()
    story = file(agents[3], 45, ["lundi", "mardi", "jeudi"], past, espace_adapte=False)
    story.step("avis_defavorable", dgs, days=3, title=title,
               motivation="Trois jours par semaine dépassent le plafond de deux jours fixé "
                          "par la charte ; le poste nécessite une présence à l'accueil.")
    story.dossier.save()
    story = file(agents[4], 200, ["mercredi"], past)
    (story.step("avis_favorable", dgs, days=1, title=title, comment="")
     .step("valider_rh", hr, days=2, comment="")
     .step("mettre_fin", agents[4], days=150,
           comment="Je reviens au bureau à temps plein : nouveau poste."))
    story.dossier.save()


def load_rich_procedures_demo(org: Organisation, *, actor, residents: list,
                              services: dict[str, Service], created: Counter) -> None:
    """The emergency aid and the telework request, and their dossiers."""
    direction = services["direction-generale"]
    eco = services["developpement-economique"]
    hr = services["ressources-humaines"]
    aid = _procedure(
        org, actor=actor, slug="aide-economique-urgence",
        title="Aide économique d'urgence aux entreprises",
        description=("Commerçants, artisans, entreprises de Valmont : une aide de 5 000 € au "
                     "plus si votre activité a subi une forte baisse (sinistre, travaux, "
                     "fermeture administrative). Réponse sous un mois après un dossier "
                     "complet."),
        documents=("Votre numéro SIRET, un extrait Kbis (ou justificatif d'immatriculation) "
                   "de moins de trois mois et le relevé d'identité bancaire de l'entreprise."),
        service=eco, theme=_theme(org, "economie"), audience=Audience.RESIDENTS,
        schema=demo_data.EMERGENCY_AID_SCHEMA,
        workflow=_workflow(org, demo_data.EMERGENCY_AID_WORKFLOW), created=created,
        mappings={"instructor": (eco, ""), "head": (eco, Role.MANAGER),
                  "dgs": (direction, Role.DIRECTOR), "signatory": (direction, Role.ELECTED)})
    telework = _procedure(
        org, actor=actor, slug="demande-teletravail", title="Demande de télétravail",
        description=("Pour les agents de la commune : demandez à télétravailler un ou deux "
                     "jours par semaine. Votre responsable donne son avis, les ressources "
                     "humaines valident. Vous pouvez y mettre fin à tout moment."),
        documents="Une attestation d'assurance habitation couvrant le travail à domicile.",
        service=hr, theme=_theme(org, "interne"), audience=Audience.AGENTS,
        schema=demo_data.TELEWORK_SCHEMA,
        workflow=_workflow(org, demo_data.TELEWORK_WORKFLOW), created=created,
        # The hierarchical opinion is the DGS's for every agent (decision record 0370).
        mappings={"manager": (direction, Role.DIRECTOR), "hr": (hr, "")})
    if residents and not Dossier.objects.filter(version__definition=aid).exists():
        _emergency_aid_dossiers(aid, residents, created)
    if not Dossier.objects.filter(version__definition=telework).exists():
        _telework_dossiers(telework, created)
