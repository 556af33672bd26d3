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
    transitions = models.JSONField(_("transitions"), default=list)
    roles = models.JSONField(_("rôles"), default=list)

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

    def clean(self) -> None:
        keys = [s.get("key") for s in self.states]
        kinds = {s.get("kind") for s in self.states}
        errors: list[str] = []
        if len(keys) != len(set(keys)) or not all(keys):
            errors.append(str(_("Chaque état doit avoir une clé unique.")))
        if not kinds <= set(self.Kind.values):
            errors.append(str(_("Type d'état inconnu.")))
        for needed in (self.Kind.DRAFT, self.Kind.SUBMITTED):
            if needed not in kinds:
                errors.append(_("Il faut un état de type « %(kind)s ».") % {"kind": needed.label})
        for transition in self.transitions:
            if transition.get("from") not in keys or transition.get("to") not in keys:
                errors.append(_("La transition « %(key)s » relie des états inconnus.")
                              % {"key": transition.get("key")})
            if transition.get("role") and transition["role"] not in self.roles:
                errors.append(_("La transition « %(key)s » cite un rôle inconnu.")
                              % {"key": transition.get("key")})
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
    data = models.JSONField(_("réponses"), default=dict, blank=True)
    # What was typed on each page, as posted ({page: {input name: [values]}}): re-shown as
    # typed, errors included, when the applicant comes back, and re-validated on submission.
    page_inputs = models.JSONField(_("saisies par page"), default=dict, blank=True)
    current_page = models.CharField(_("page en cours"), max_length=50, blank=True)
    state = models.CharField(_("état"), max_length=50)
    submitted_at = models.DateTimeField(_("déposé le"), null=True, blank=True)
    lock_version = models.PositiveIntegerField(_("version d'enregistrement"), default=0)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"],
                                    condition=~models.Q(number=""),
                                    name="dossier_number_per_org"),
        ]
        indexes = [models.Index(fields=["organisation", "applicant", "-created_at"])]

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
