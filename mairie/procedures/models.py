"""Téléprocédures: what a procedure is (definition, frozen versions, workflow) and what a
resident files (dossier, its timeline and its files).

A `ProcedureVersion` is immutable once published: a dossier always keeps the exact form it was
filed with, so agents read answers against the questions that were actually asked. Changing a
procedure means publishing a new version (the builder, a later slice, will keep a draft of it).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.mandate_domains import MandateDomain
from mairie.core.models import OrganisationScopedModel
from mairie.core.organisation.models import Role


class Theme(OrganisationScopedModel):
    """A heading of the catalogue ("État civil", "Voirie et espace public"…)."""

    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(_("identifiant"))
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("thème")
        verbose_name_plural = _("thèmes")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="theme_slug_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class Audience(models.TextChoices):
    ANYONE = "anyone", _("Tout le monde, même sans compte")
    RESIDENTS = "residents", _("Usagers connectés")
    AGENTS = "agents", _("Agents (démarche interne)")


class Workflow(OrganisationScopedModel):
    """States and transitions shared by several procedures. Roles are abstract names
    ("instructor"…) that each procedure maps to real services (`WorkflowRoleMapping`)."""

    class Kind(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SUBMITTED = "submitted", _("Déposé")
        INSTRUCTION = "instruction", _("En instruction")
        WAITING = "waiting", _("En attente de l'usager")
        VALIDATION = "validation", _("En attente de validation")
        FINAL = "final", _("Décision")

    name = models.CharField(_("nom"), max_length=200)
    states = models.JSONField(_("états"), default=list)
    transitions = models.JSONField(_("transitions"), default=list, blank=True)
    roles = models.JSONField(_("rôles"), default=list, blank=True)
    # Templates of the documents the workflow generates ({key: {"title", "body"}}), see
    # docs/procedures-workflows.md.
    documents = models.JSONField(_("modèles de documents"), default=dict, blank=True)

    class Meta:
        verbose_name = _("circuit de traitement")
        verbose_name_plural = _("circuits de traitement")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def first_state_of_kind(self, kind: str) -> str:
        for state in self.states:
            if state.get("kind") == kind:
                return state["key"]
        raise ValidationError(_("Le circuit « %(name)s » n'a pas d'état de type %(kind)s.")
                              % {"name": self.name, "kind": kind})

    def state_label(self, key: str) -> str:
        for state in self.states:
            if state.get("key") == key:
                return state.get("label") or key
        return key

    def state_kind(self, key: str) -> str:
        for state in self.states:
            if state.get("key") == key:
                return state.get("kind", "")
        return ""

    # Entries of `roles` are a name ("instructor") or {"key": "instructor", "label":
    # "Instructeur"} when the workflow editor gave it a human label (decision 0360): read them
    # through these two helpers, never directly.
    def role_keys(self) -> list[str]:
        return [role.get("key", "") if isinstance(role, dict) else role for role in self.roles]

    def role_label(self, key: str) -> str:
        for role in self.roles:
            if isinstance(role, dict) and role.get("key") == key:
                return role.get("label") or key
        return key

    def clean(self) -> None:
        # The whole check lives with the engine (workflow.validate_workflow, French messages).
        from .workflow import validate_workflow

        errors = validate_workflow(states=self.states, transitions=self.transitions,
                                   roles=self.roles, documents=self.documents)
        if errors:
            raise ValidationError(errors)


class ProcedureDefinition(OrganisationScopedModel):
    """A procedure as residents see it in the catalogue; its form lives in its versions."""

    title = models.CharField(_("titre"), max_length=200)
    slug = models.SlugField(_("identifiant"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    documents_to_prepare = models.TextField(_("pièces à préparer"), blank=True)
    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="procedures", verbose_name=_("service responsable"))
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="procedures", verbose_name=_("thème"))
    audience = models.CharField(_("qui peut déposer"), max_length=20, choices=Audience.choices,
                                default=Audience.RESIDENTS)
    opens_at = models.DateTimeField(_("ouverture"), null=True, blank=True)
    closes_at = models.DateTimeField(_("clôture"), null=True, blank=True)
    max_submissions = models.PositiveIntegerField(_("nombre maximal de dépôts"), null=True,
                                                  blank=True)
    # Which mandate domain the procedure belongs to (crm, issue 5): a helper files it in a
    # resident's account only under an active mandate for this domain.
    mandate_domain = models.CharField(_("domaine des mandats"), max_length=12, blank=True,
                                      choices=MandateDomain.choices)
    current_version = models.ForeignKey("ProcedureVersion", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        verbose_name=_("version publiée"))

    class Meta:
        verbose_name = _("démarche")
        verbose_name_plural = _("démarches")
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"],
                                    name="procedure_slug_per_org"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return ((self.opens_at is None or self.opens_at <= at)
                and (self.closes_at is None or at < self.closes_at))


class WorkflowRoleMapping(OrganisationScopedModel):
    """For one procedure, who plays a workflow role: the holders of `membership_role` in
    `service` (any role of the service when empty)."""

    definition = models.ForeignKey(ProcedureDefinition, on_delete=models.CASCADE,
                                   related_name="role_mappings", verbose_name=_("démarche"))
    role = models.CharField(_("rôle du circuit"), max_length=50)
    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("service"))
    membership_role = models.CharField(_("rôle dans le service"), max_length=20, blank=True,
                                       choices=Role.choices)

    class Meta:
        verbose_name = _("attribution d'un rôle du circuit")
        verbose_name_plural = _("attributions des rôles du circuit")
        constraints = [
            models.UniqueConstraint(fields=["definition", "role"],
                                    name="one_mapping_per_workflow_role"),
        ]

    def __str__(self) -> str:
        return f"{self.definition} — {self.role} → {self.service}"


class ImmutableVersion(ValidationError):
    """Raised when something tries to change a published version."""


class ProcedureVersion(OrganisationScopedModel):
    definition = models.ForeignKey(ProcedureDefinition, on_delete=models.CASCADE,
                                   related_name="versions", verbose_name=_("démarche"))
    number = models.PositiveIntegerField(_("numéro de version"))
    schema = models.JSONField(_("formulaire"), default=dict)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="versions",
                                 verbose_name=_("circuit de traitement"))
    published_at = models.DateTimeField(_("publiée le"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("publiée par"))

    class Meta:
        verbose_name = _("version de démarche")
        verbose_name_plural = _("versions de démarche")
        ordering = ["definition", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"],
                                    name="one_version_number_per_procedure"),
        ]

    def __str__(self) -> str:
        return f"{self.definition} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def save(self, *args, **kwargs):
        # The database row, not this instance, says whether the version was already published:
        # an instance loaded before publication must not slip a change through either.
        if not self._state.adding and ProcedureVersion.objects.filter(
                pk=self.pk, published_at__isnull=False).exists():
            raise ImmutableVersion(_("Une version publiée ne peut plus être modifiée : "
                                     "publiez une nouvelle version."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.published_at is not None:
            raise ImmutableVersion(_("Une version publiée ne peut pas être supprimée."))
        return super().delete(*args, **kwargs)


def new_tracking_code() -> str:
    """About 128 bits of randomness: impossible to guess, short enough to type from a letter."""
    return secrets.token_urlsafe(16)


class Dossier(OrganisationScopedModel):
    """What one applicant files for one version of a procedure, from draft to decision."""

    version = models.ForeignKey(ProcedureVersion, on_delete=models.PROTECT,
                                related_name="dossiers", verbose_name=_("version"))
    number = models.CharField(_("numéro"), max_length=20, blank=True,
                              help_text=_("Attribué au dépôt, par exemple 2026-000123."))
    tracking_code = models.CharField(_("code de suivi"), max_length=40, unique=True,
                                     default=new_tracking_code, editable=False)
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="dossiers",
                                  verbose_name=_("demandeur"))
    applicant_email = models.EmailField(_("courriel du demandeur"), blank=True)
    # The agent who filed it for the applicant, at the counter or on the phone (crm, issue
    # 5): they fill and submit the draft, and follow the dossier as the applicant does.
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("déposé pour le demandeur par"))
    data = models.JSONField(_("réponses"), default=dict, blank=True)
    # What was typed on each page, as posted ({page: {input name: [values]}}): re-shown as
    # typed, errors included, when the applicant comes back, and re-validated on submission.
    page_inputs = models.JSONField(_("saisies par page"), default=dict, blank=True)
    current_page = models.CharField(_("page en cours"), max_length=50, blank=True)
    state = models.CharField(_("état"), max_length=50)
    submitted_at = models.DateTimeField(_("déposé le"), null=True, blank=True)
    lock_version = models.PositiveIntegerField(_("version d'enregistrement"), default=0)
    # Processing (agents): who holds the dossier, since when it is in its state, its deadline,
    # what agents typed when moving it (motivation…), labels, and the text searched in the inbox.
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="assigned_dossiers",
                                    verbose_name=_("agent chargé du dossier"))
    assigned_service = models.ForeignKey("organisation.Service", null=True, blank=True,
                                         on_delete=models.SET_NULL,
                                         related_name="assigned_dossiers",
                                         verbose_name=_("service chargé du dossier"))
    state_entered_at = models.DateTimeField(_("dans cet état depuis"), null=True, blank=True)
    deadline_at = models.DateTimeField(_("échéance"), null=True, blank=True)
    decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    processing_data = models.JSONField(
        _("données de traitement"), default=dict, blank=True,
        help_text=_("Ce que les agents ont saisi en franchissant les étapes (motivation…)."))
    search_text = models.TextField(_("texte indexé"), blank=True, editable=False)
    labels: models.ManyToManyField = models.ManyToManyField(
        "Label", blank=True, related_name="dossiers", verbose_name=_("étiquettes"))

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"],
                                    condition=~models.Q(number=""),
                                    name="dossier_number_per_org"),
        ]
        indexes = [models.Index(fields=["organisation", "applicant", "-created_at"]),
                   models.Index(fields=["organisation", "assigned_to", "-submitted_at"]),
                   models.Index(fields=["organisation", "state", "-submitted_at"]),
                   # The inbox's default order (bench/procedures_inbox.py: 2.5 s → 0.5 ms
                   # for its main query at a million dossiers).
                   models.Index(fields=["organisation", "-submitted_at", "-id"],
                                name="dossier_inbox_order"),
                   models.Index(fields=["deadline_at"], name="dossier_deadline",
                                condition=models.Q(deadline_at__isnull=False))]

    def __str__(self) -> str:
        return self.number or _("Brouillon de %(title)s") % {"title": self.version.definition}

    @property
    def definition(self) -> ProcedureDefinition:
        return self.version.definition

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None

    @property
    def state_label(self) -> str:
        return self.version.workflow.state_label(self.state)


class DossierNumberCounter(models.Model):
    """The last number handed out per organisation and year (see services.allocate_number)."""

    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.CASCADE,
                                     related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"],
                                    name="one_dossier_counter_per_org_year"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.year}: {self.last}"


class DossierEvent(OrganisationScopedModel):
    """One line of the dossier's timeline, shown to the applicant and the agents."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="events",
                                verbose_name=_("dossier"))
    kind = models.CharField(_("type"), max_length=50)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("auteur"))
    at = models.DateTimeField(_("date"), default=timezone.now)
    details = models.JSONField(_("détails"), default=dict, blank=True)
    # False for what only agents see (annotations, labels, opinions, assignments).
    public = models.BooleanField(_("visible par le demandeur"), default=True)

    class Meta:
        verbose_name = _("événement de dossier")
        verbose_name_plural = _("événements de dossier")
        ordering = ["at"]


class DossierFile(OrganisationScopedModel):
    """A stored file given as the answer to one file field of a dossier."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="files",
                                verbose_name=_("dossier"))
    field_key = models.CharField(_("champ"), max_length=50)
    stored_file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("fichier"))

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        ordering = ["created_at"]


# --- Processing ------------------------------------------------------------------------------
# What agents add to a submitted dossier. The workflow engine (`workflow.py`) moves the dossier
# between states; the rows below keep everything else that happens around it. All of them are
# scoped to the dossier's organisation and reached only through `queries.py`.


class Label(OrganisationScopedModel):
    """A tag agents put on dossiers ("urgent", "pièce manquante"…), never shown to applicants.
    `definition` empty: usable on every procedure of the organisation."""

    class Colour(models.TextChoices):
        GREY = "grey", _("Gris")
        BLUE = "blue", _("Bleu")
        GREEN = "green", _("Vert")
        ORANGE = "orange", _("Orange")
        RED = "red", _("Rouge")
        PURPLE = "purple", _("Violet")

    name = models.CharField(_("nom"), max_length=60)
    colour = models.CharField(_("couleur"), max_length=10, choices=Colour.choices,
                              default=Colour.GREY)
    definition = models.ForeignKey(ProcedureDefinition, null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="labels",
                                   verbose_name=_("démarche"))

    class Meta:
        verbose_name = _("étiquette")
        verbose_name_plural = _("étiquettes")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"],
                                    name="label_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class DossierMessage(OrganisationScopedModel):
    """The thread between the applicant and the agents, visible to both."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="messages",
                                verbose_name=_("dossier"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("auteur"))
    from_applicant = models.BooleanField(_("écrit par le demandeur"), default=False)
    body = models.TextField(_("message"))
    attachment = models.ForeignKey("files.StoredFile", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("pièce jointe"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at"]


class DossierAnnotation(OrganisationScopedModel):
    """A private note between agents, never shown to the applicant."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="annotations",
                                verbose_name=_("dossier"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("auteur"))
    body = models.TextField(_("annotation"))

    class Meta:
        verbose_name = _("annotation privée")
        verbose_name_plural = _("annotations privées")
        ordering = ["created_at"]


class OpinionRequest(OrganisationScopedModel):
    """An expert opinion: an agent asks another service a question about the dossier; an
    agent of that service reads the dossier and answers with a text and files."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE,
                                related_name="opinion_requests", verbose_name=_("dossier"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("demandé par"))
    service = models.ForeignKey("organisation.Service", on_delete=models.PROTECT,
                                related_name="opinion_requests",
                                verbose_name=_("service consulté"))
    question = models.TextField(_("question"))
    answer = models.TextField(_("avis"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("avis donné par"))
    answered_at = models.DateTimeField(_("avis donné le"), null=True, blank=True)
    answer_files = models.ManyToManyField("files.StoredFile", blank=True, related_name="+",
                                          verbose_name=_("pièces de l'avis"))

    class Meta:
        verbose_name = _("demande d'avis")
        verbose_name_plural = _("demandes d'avis")
        ordering = ["created_at"]


class CorrectionRequest(OrganisationScopedModel):
    """The agents ask the applicant to correct or complete some answers. Only `fields` are
    editable by the applicant until they answer; the dossier then goes to `return_state`."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE,
                                related_name="correction_requests", verbose_name=_("dossier"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("demandé par"))
    message = models.TextField(_("message à l'usager"))
    fields = models.JSONField(_("champs à corriger"), default=list)
    return_state = models.CharField(_("état au retour"), max_length=50)
    answered_at = models.DateTimeField(_("répondu le"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("répondu par"))

    class Meta:
        verbose_name = _("demande de correction")
        verbose_name_plural = _("demandes de correction")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dossier"], condition=models.Q(answered_at=None),
                                    name="one_open_correction_per_dossier"),
        ]


class DossierValidation(OrganisationScopedModel):
    """One step of a validation or signature chain: who approved (or sent back) the dossier,
    in which role, when, with an optional comment. Decision documents list the approvals."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Validé")
        REJECTED = "rejected", _("Renvoyé")

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="validations",
                                verbose_name=_("dossier"))
    transition = models.CharField(_("transition"), max_length=50)
    step_label = models.CharField(_("étape"), max_length=200)
    role = models.CharField(_("rôle du circuit"), max_length=50)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("par"))
    actor_name = models.CharField(_("nom du signataire"), max_length=200, blank=True)
    actor_title = models.CharField(_("qualité"), max_length=200, blank=True)
    decision = models.CharField(_("décision"), max_length=10, choices=Decision.choices)
    signature = models.BooleanField(_("signature"), default=False)
    comment = models.TextField(_("commentaire"), blank=True)
    at = models.DateTimeField(_("le"), default=timezone.now)

    class Meta:
        verbose_name = _("validation")
        verbose_name_plural = _("validations")
        ordering = ["at"]


class DossierDocument(OrganisationScopedModel):
    """A document generated by the workflow (decision letter…), stored as a PDF."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="documents",
                                verbose_name=_("dossier"))
    title = models.CharField(_("titre"), max_length=200)
    template_key = models.CharField(_("modèle"), max_length=50)
    stored_file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("fichier"))
    visible_to_applicant = models.BooleanField(_("visible par le demandeur"), default=True)

    class Meta:
        verbose_name = _("document généré")
        verbose_name_plural = _("documents générés")
        ordering = ["created_at"]


from .models_api import *  # noqa: E402,F401,F403
from .models_automation import *  # noqa: E402,F401,F403
from .models_batch import *  # noqa: E402,F401,F403
from .models_exports import *  # noqa: E402,F401,F403
from .models_retention import *  # noqa: E402,F401,F403
