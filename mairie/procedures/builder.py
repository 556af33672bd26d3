"""The procedure builder's writes: a procedure's settings, its draft version and its form.

Agents design a procedure in the agents' workspace (`views_builder.py`). The published
version is frozen (`ProcedureVersion.save`): the builder works on a *draft*, an unpublished
`ProcedureVersion` row numbered after the last published one, created the first time the agent
edits the form and published by `services.publish_version(draft=...)`. Residents keep filling
the published version meanwhile.

Two agents may edit the same procedure at once; nobody's work is silently overwritten:
- settings carry the definition's `updated_at` (decision 0181) → `StaleProcedure`;
- every change of the form carries the draft's revision counter, kept in the draft's schema
  as `schema["_revision"]` (no migration needed, stripped on publication) → `StaleDraft`.

Every write runs in a transaction, checks `rules.may_design`, and leaves an audit event.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event

from . import schema as schema_helpers
from .expressions import RESERVED_NAMES, ExpressionError, compile_expression
from .models import ProcedureDefinition, ProcedureVersion, Theme, Workflow, WorkflowRoleMapping
from .rules import may_design

REVISION = "_revision"
SETTINGS_FIELDS = ("title", "slug", "description", "documents_to_prepare", "service", "theme",
                   "audience", "opens_at", "closes_at", "max_submissions", "mandate_domain")


class StaleProcedure(Exception):
    """The procedure's settings were saved by someone else since the page was loaded."""

    def __init__(self, current: ProcedureDefinition):
        self.current = current
        super().__init__(_("Un autre agent a modifié les réglages de cette démarche pendant que "
                           "vous les éditiez : rien n'a été enregistré. Vos saisies sont "
                           "conservées ; vérifiez-les puis enregistrez à nouveau."))


class StaleDraft(Exception):
    """The draft's form was changed by someone else since the page was loaded."""

    def __init__(self, draft: ProcedureVersion):
        self.draft = draft
        super().__init__(_("Un autre agent a modifié le formulaire de cette démarche pendant "
                           "que vous l'éditiez : rien n'a été enregistré. La page montre "
                           "maintenant le formulaire à jour ; vos saisies sont conservées, "
                           "enregistrez à nouveau si elles sont toujours utiles."))


def _check(actor, definition, organisation) -> None:
    if not may_design(actor, definition, organisation):
        raise PermissionDenied(_("Vous ne pouvez pas concevoir cette démarche."))


def key_from_label(label: str, taken: set[str] | frozenset[str] = frozenset(),
                   default: str = "champ") -> str:
    """A field or page key from a label: "Nom du conjoint" → "nom_du_conjoint", made unique."""
    # "l'exposant" → "l_exposant": an apostrophe separates words in French.
    text = (label or "").replace("'", " ").replace("’", " ")
    base = slugify(text).replace("-", "_")[:40].strip("_")
    if not base or not base[0].isalpha():
        base = f"{default}_{base}".strip("_") if base else default
    base = base[:40]
    key, counter = base, 2
    while key in taken or key in RESERVED_NAMES:
        key, counter = f"{base}_{counter}", counter + 1
    return key


def all_keys(schema: dict) -> set[str]:
    """Every page, field and sub-field key of a schema (keys are unique across all of them)."""
    keys: set[str] = set()
    for page in schema_helpers.pages_of(schema):
        keys.add(page.get("key"))
        for field in schema_helpers.fields_of(page):
            keys.add(field.get("key"))
            for sub in schema_helpers.fields_of(field):
                keys.add(sub.get("key"))
    return {k for k in keys if isinstance(k, str)}


def revision_of(draft: ProcedureVersion) -> int:
    value = (draft.schema or {}).get(REVISION, 0)
    return value if isinstance(value, int) else 0


def published_schema(schema: dict) -> dict:
    """The schema as residents get it: without the builder's bookkeeping."""
    frozen = copy.deepcopy(schema)
    frozen.pop(REVISION, None)
    return frozen


# --- Settings ----------------------------------------------------------------------------


@transaction.atomic
def save_settings(*, actor, organisation, definition: ProcedureDefinition | None,
                  values: dict[str, Any], workflow: Workflow,
                  mappings: dict[str, tuple[Any, str]] | None = None,
                  expected_version: datetime.datetime | None,
                  request: HttpRequest | None = None) -> ProcedureDefinition:
    """Create a procedure (`definition` None) or change its settings.

    `values` holds `SETTINGS_FIELDS`; `workflow` is versioned with the form, so choosing
    another one than the draft's (or the published version's) goes to the draft; `mappings`
    is {workflow role: (service or None, membership role)} — None drops the role's mapping
    (its holders are then the owning service's members). `expected_version` is the
    definition's `updated_at` the agent started from (None only on creation)."""
    _check(actor, definition, organisation)
    service = values.get("service")
    if service is None or service.organisation_id != organisation.pk:
        raise ValidationError({"service": _("Choisissez un service de la collectivité.")})
    if not (may_design(actor, None, organisation) and _may_own(actor, service, organisation)):
        raise ValidationError({"service": _("Vous ne pouvez confier une démarche qu'à un "
                                            "service dont vous êtes responsable.")})
    if workflow.organisation_id != organisation.pk:
        raise PermissionDenied
    theme = values.get("theme")
    if theme is not None and theme.organisation_id != organisation.pk:
        raise PermissionDenied
    creating = definition is None
    if creating:
        current = ProcedureDefinition(organisation=organisation)
        before: dict[str, Any] = {}
    else:
        current = ProcedureDefinition.objects.select_for_update().get(pk=definition.pk)
        if expected_version is not None and current.updated_at != expected_version:
            raise StaleProcedure(current)
        before = {name: _jsonable(getattr(current, name)) for name in SETTINGS_FIELDS}
    for name in SETTINGS_FIELDS:
        if name == "mandate_domain":  # optional for callers that predate it
            setattr(current, name, values.get(name) or "")
            continue
        setattr(current, name, values.get(name))
    if ProcedureDefinition.objects.filter(organisation=organisation, slug=current.slug).exclude(
            pk=current.pk).exists():
        raise ValidationError({"slug": _("Une autre démarche utilise déjà cet identifiant.")})
    current.full_clean(exclude=["current_version", "organisation"])
    current.save()
    after = {name: _jsonable(getattr(current, name)) for name in SETTINGS_FIELDS}
    changed = [name for name in SETTINGS_FIELDS if before.get(name) != after[name]]
    draft = _draft_of(current)
    running = draft or current.current_version
    if running is None or running.workflow_id != workflow.pk:
        draft = draft or _new_draft(current, workflow)
        if draft.workflow_id != workflow.pk:
            draft.workflow = workflow
            draft.save(update_fields=["workflow", "updated_at"])
        changed.append("workflow")
    changed += _save_mappings(current, workflow, mappings or {})
    if not creating and not changed:
        return current
    record_event(organisation=organisation, action=("procedures.procedure_created" if creating
                                                    else "procedures.settings_saved"),
                 actor=actor, obj=current, object_label=current.title, request=request,
                 details={"changed": changed, "workflow": str(workflow.pk)})
    return current


def _may_own(actor, service, organisation) -> bool:
    """A manager may give the procedure only to a service they manage."""
    from mairie.core.organisation.models import Membership
    from mairie.core.organisation.queries import is_org_administrator

    from .rules import DESIGNER_ROLES

    return is_org_administrator(actor, organisation) or Membership.objects.filter(
        user=actor, service=service, role__in=DESIGNER_ROLES).exists()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(value.pk)
    return value


def _save_mappings(definition: ProcedureDefinition, workflow: Workflow,
                   mappings: dict[str, tuple[Any, str]]) -> list[str]:
    changed = []
    existing = {m.role: m for m in definition.role_mappings.all()}
    for role in workflow.role_keys():
        service, membership_role = mappings.get(role) or (None, "")
        mapping = existing.get(role)
        if service is None:
            if mapping is not None:
                mapping.delete()
                changed.append(f"role:{role}")
            continue
        if service.organisation_id != definition.organisation_id:
            raise PermissionDenied
        if mapping is None:
            WorkflowRoleMapping.objects.create(
                organisation=definition.organisation, definition=definition, role=role,
                service=service, membership_role=membership_role or "")
            changed.append(f"role:{role}")
        elif (mapping.service_id, mapping.membership_role) != (service.pk, membership_role):
            mapping.service, mapping.membership_role = service, membership_role or ""
            mapping.save(update_fields=["service", "membership_role", "updated_at"])
            changed.append(f"role:{role}")
    return changed


@transaction.atomic
def create_theme(*, actor, organisation, name: str,
                 request: HttpRequest | None = None) -> Theme:
    """A new heading of the catalogue, placed last."""
    if not may_design(actor, None, organisation):
        raise PermissionDenied
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Indiquez le nom du thème.")})
    if Theme.objects.filter(organisation=organisation, name__iexact=name).exists():
        raise ValidationError({"name": _("Ce thème existe déjà.")})
    taken = set(Theme.objects.filter(organisation=organisation).values_list("slug", flat=True))
    slug, counter = slugify(name)[:45] or "theme", 2
    base = slug
    while slug in taken:
        slug, counter = f"{base}-{counter}", counter + 1
    last = Theme.objects.filter(organisation=organisation).order_by("-position").first()
    theme = Theme.objects.create(organisation=organisation, name=name, slug=slug,
                                 position=(last.position + 1) if last else 0)
    record_event(organisation=organisation, action="procedures.theme_created", actor=actor,
                 obj=theme, object_label=name, request=request)
    return theme


# --- The draft version ---------------------------------------------------------------------


def _draft_of(definition: ProcedureDefinition) -> ProcedureVersion | None:
    return (definition.versions.filter(published_at__isnull=True).order_by("-number")
            .select_related("workflow").first())


def _new_draft(definition: ProcedureDefinition, workflow: Workflow) -> ProcedureVersion:
    last = definition.versions.order_by("-number").values_list("number", flat=True).first()
    published = definition.current_version
    schema = (copy.deepcopy(published.schema) if published is not None else
              {"pages": [{"key": "page_1", "title": _("Première page"), "condition": "",
                          "fields": []}]})
    schema[REVISION] = 0
    return ProcedureVersion.objects.create(
        organisation=definition.organisation, definition=definition, number=(last or 0) + 1,
        schema=schema, workflow=workflow)


@transaction.atomic
def ensure_draft(*, actor, definition: ProcedureDefinition,
                 request: HttpRequest | None = None) -> ProcedureVersion:
    """The draft of the next version, created from the published one when there is none."""
    _check(actor, definition, definition.organisation)
    ProcedureDefinition.objects.select_for_update().filter(pk=definition.pk).exists()
    draft = _draft_of(definition)
    if draft is not None:
        return draft
    published = definition.current_version
    if published is None:  # pragma: no cover — save_settings gives every procedure a draft
        raise ValidationError(_("Choisissez d'abord un circuit de traitement."))
    draft = _new_draft(definition, published.workflow)
    record_event(organisation=definition.organisation, action="procedures.draft_created",
                 actor=actor, obj=draft, object_label=str(draft), request=request,
                 details={"number": draft.number, "from": published.number})
    return draft


def _change_draft(*, actor, draft: ProcedureVersion, expected_revision: int, operation: str,
                  change: Callable[[dict], dict[str, Any]],
                  request: HttpRequest | None) -> ProcedureVersion:
    """Apply `change` (which edits a copy of the schema in place and returns audit details)
    if nobody changed the draft since `expected_revision`; bump the revision."""
    definition = draft.definition
    _check(actor, definition, definition.organisation)
    current = ProcedureVersion.objects.select_for_update().get(pk=draft.pk)
    if current.published_at is not None:
        raise StaleDraft(current)
    if revision_of(current) != int(expected_revision):
        raise StaleDraft(current)
    schema = copy.deepcopy(current.schema)
    details = change(schema)
    schema[REVISION] = revision_of(current) + 1
    current.schema = schema
    current.save(update_fields=["schema", "updated_at"])
    record_event(organisation=definition.organisation, action=f"procedures.form_{operation}",
                 actor=actor, obj=current, object_label=str(current), request=request,
                 details={"version": current.number, **details})
    return current


def _page(schema: dict, page_key: str) -> dict:
    try:
        return schema_helpers.get_page(schema, page_key)
    except KeyError:
        raise ValidationError(_("Cette page n'existe plus.")) from None


def _container(schema: dict, page_key: str, block_key: str | None) -> dict:
    """The page, or the repeatable block of the page, whose `fields` an operation edits."""
    page = _page(schema, page_key)
    if not block_key:
        return page
    for field in schema_helpers.fields_of(page):
        if field.get("key") == block_key and field.get("type") == "block":
            field.setdefault("fields", [])
            return field
    raise ValidationError(_("Ce bloc n'existe plus."))


def _index(items: list[dict], key: str, message: str) -> int:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("key") == key:
            return index
    raise ValidationError(message)


def _check_key(key: str, taken: set[str]) -> None:
    if not isinstance(key, str) or not schema_helpers.KEY_PATTERN.match(key):
        raise ValidationError({"key": _("La clé doit commencer par une lettre minuscule et ne "
                                        "contenir que des minuscules sans accent, des chiffres "
                                        "et « _ » (50 caractères au plus).")})
    if key in RESERVED_NAMES:
        raise ValidationError({"key": _("Cette clé est réservée au langage des conditions.")})
    if key in taken:
        raise ValidationError({"key": _("Cette clé est déjà utilisée par une autre page ou un "
                                        "autre champ du formulaire.")})


def check_condition(schema: dict, text: str, *, block_key: str | None = None) -> None:
    """Raise a ValidationError on `condition` with the expression language's French message
    when `text` does not compile against the schema's field keys (and the block's own)."""
    if not text:
        return
    names = schema_helpers.answer_names(schema)
    addresses = {f["key"] for _p, f in schema_helpers.iter_fields(schema)
                 if f.get("type") == "address"}
    if block_key:
        for _page, field in schema_helpers.iter_fields(schema):
            if field.get("key") == block_key:
                for sub in schema_helpers.fields_of(field):
                    names.add(sub.get("key"))
                    if sub.get("type") == "address":
                        addresses.add(sub.get("key"))
    try:
        expression = compile_expression(text, names=names)
    except ExpressionError as error:
        raise ValidationError({"condition": str(error)}) from None
    for name in sorted(expression.address_names - addresses):
        raise ValidationError({"condition": _("« %(name)s » n'est pas une adresse, il n'a pas "
                                              "de partie après le point.") % {"name": name}})


@transaction.atomic
def add_page(*, actor, draft: ProcedureVersion, expected_revision: int, title: str,
             request: HttpRequest | None = None) -> ProcedureVersion:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Indiquez le titre de la page.")})

    def change(schema: dict) -> dict[str, Any]:
        key = key_from_label(title, all_keys(schema), default="page")
        schema.setdefault("pages", []).append({"key": key, "title": title, "condition": "",
                                               "fields": []})
        return {"page": key}

    return _change_draft(actor=actor, draft=draft, expected_revision=expected_revision,
                         operation="page_added", change=change, request=request)


@transaction.atomic
def update_page(*, actor, draft: ProcedureVersion, expected_revision: int, page_key: str,
                title: str, key: str, condition: str,
                request: HttpRequest | None = None) -> ProcedureVersion:
    """Rename a page, change its key or its display condition."""
    title, key, condition = (title or "").strip(), (key or "").strip(), (condition or "").strip()

    def change(schema: dict) -> dict[str, Any]:
        page = _page(schema, page_key)
        if not title:
            raise ValidationError({"title": _("Indiquez le titre de la page.")})
        _check_key(key, all_keys(schema) - {page_key})
        check_condition(schema, condition)
        page.update(title=title, key=key, condition=condition)
        return {"page": key, "previous_key": page_key}

    return _change_draft(actor=actor, draft=draft, expected_revision=expected_revision,
                         operation="page_changed", change=change, request=request)


def _move(items: list, index: int, direction: str) -> None:
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]


@transaction.atomic
def move_page(*, actor, draft: ProcedureVersion, expected_revision: int, page_key: str,
              direction: str, request: HttpRequest | None = None) -> ProcedureVersion:
    def change(schema: dict) -> dict[str, Any]:
        pages = schema["pages"]
        _move(pages, _index(pages, page_key, _("Cette page n'existe plus.")), direction)
        return {"page": page_key, "direction": direction}

    return _change_draft(actor=actor, draft=draft, expected_revision=expected_revision,
                         operation="page_moved", change=change, request=request)


@transaction.atomic
def delete_page(*, actor, draft: ProcedureVersion, expected_revision: int, page_key: str,
                request: HttpRequest | None = None) -> ProcedureVersion:
    def change(schema: dict) -> dict[str, Any]:
        pages = schema["pages"]
        if len(pages) <= 1:
            raise ValidationError(_("Le formulaire doit garder au moins une page."))
        removed = pages.pop(_index(pages, page_key, _("Cette page n'existe plus.")))
        return {"page": page_key,
                "fields": [f.get("key") for f in schema_helpers.fields_of(removed)]}

    return _change_draft(actor=actor, draft=draft, expected_revision=expected_revision,
                         operation="page_deleted", change=change, request=request)


@transaction.atomic
def save_field(*, actor, draft: ProcedureVersion, expected_revision: int, page_key: str,
               spec: dict[str, Any], original_key: str | None = None,
               block_key: str | None = None,
               request: HttpRequest | None = None) -> ProcedureVersion:
    """Add a field (`original_key` None) to a page or a block, or replace one.

    The spec is checked as `schema.validate_schema` would (key format and uniqueness, type
    options, prefill, condition compiled against the form's keys): errors are raised per
    input name ({"key": …, "condition": …, "options": …}) so the page shows each one next to
    its input."""
    from .fieldtypes import FIELD_TYPES, PREFILL_SOURCES

    def change(schema: dict) -> dict[str, Any]:
        container = _container(schema, page_key, block_key)
        fields = container.setdefault("fields", [])
        index = None
        if original_key is not None:
            index = _index(fields, original_key, _("Ce champ n'existe plus."))
        new = copy.deepcopy(spec)
        field_type = FIELD_TYPES.get(new.get("type", ""))
        if field_type is None or (block_key and new["type"] in ("block", "file")):
            raise ValidationError({"type": _("Ce type de champ n'est pas possible ici.")})
        errors: dict[str, list[str]] = {}
        if not new.get("key"):
            new["key"] = key_from_label(str(new.get("label") or ""),
                                        all_keys(schema) - {original_key})
        try:
            _check_key(new.get("key"), all_keys(schema) - {original_key})
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if not str(new.get("label") or "").strip():
            errors["label"] = [_("Le libellé est obligatoire.")]
        option_errors = field_type.check_options(new.get("options") or {})
        if option_errors:
            errors["options"] = option_errors
        if new.get("prefill") and new["prefill"] not in PREFILL_SOURCES:
            errors["prefill"] = [_("Ce pré-remplissage n'existe pas.")]
        if index is not None and fields[index].get("type") == "block":
            new["fields"] = fields[index].get("fields", [])  # sub-fields are edited apart
        if index is None:
            fields.append(new)
        else:
            fields[index] = new
        try:
            check_condition(schema, new.get("condition") or "", block_key=block_key)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        return {"page": page_key, "block": block_key or "", "field": new["key"],
                "type": new["type"], "added": index is None}

    return _change_draft(actor=actor, draft=draft, expected_revision=expected_revision,
                         operation="field_saved", change=change, request=request)


@transaction.atomic
def move_field(*, actor, draft: ProcedureVersion, expected_revision: int, page_key: str,
               field_key: str, direction: str, block_key: str | None = None,
               request: HttpRequest | None = None) -> ProcedureVersion:
    def change(schema: dict) -> dict[str, Any]:
        fields = _container(schema, page_key, block_key).setdefault("fields", [])
        _move(fields, _index(fields, field_key, _("Ce champ n'existe plus.")), direction)
        return {"page": page_key, "block": block_key or "", "field": field_key,
                "direction": direction}

    return _change_draft(actor=actor, draft=draft, expected_revision=expected_revision,
                         operation="field_moved", change=change, request=request)


@transaction.atomic
def delete_field(*, actor, draft: ProcedureVersion, expected_revision: int, page_key: str,
                 field_key: str, block_key: str | None = None,
                 request: HttpRequest | None = None) -> ProcedureVersion:
    def change(schema: dict) -> dict[str, Any]:
        fields = _container(schema, page_key, block_key).setdefault("fields", [])
        fields.pop(_index(fields, field_key, _("Ce champ n'existe plus.")))
        return {"page": page_key, "block": block_key or "", "field": field_key}

    return _change_draft(actor=actor, draft=draft, expected_revision=expected_revision,
                         operation="field_deleted", change=change, request=request)


# --- Publication ---------------------------------------------------------------------------


def publication_problems(draft: ProcedureVersion) -> list[str]:
    """What prevents publishing the draft, in French (empty: it can be published)."""
    problems = list(schema_helpers.validate_schema(published_schema(draft.schema)))
    for page in schema_helpers.pages_of(draft.schema):
        if not schema_helpers.fields_of(page):
            problems.append(_("Page « %(title)s » : ajoutez au moins un champ.")
                            % {"title": page.get("title")})
    try:
        draft.workflow.full_clean()
    except ValidationError as exc:
        problems += [_("Circuit « %(name)s » : %(error)s") % {"name": draft.workflow.name,
                                                              "error": message}
                     for message in exc.messages]
    problems += _guard_problems(draft)
    return problems


def _guard_problems(draft: ProcedureVersion) -> list[str]:
    """The workflow engine's check that guards only read fields of this form."""
    from .workflow import check_guards_against_schema

    return list(check_guards_against_schema(draft.workflow, published_schema(draft.schema)))


@transaction.atomic
def publish_draft(*, actor, draft: ProcedureVersion, expected_revision: int,
                  request: HttpRequest | None = None) -> ProcedureVersion:
    """Publish the draft as the version residents fill; the next edit starts a new draft."""
    from .services import publish_version

    definition = draft.definition
    _check(actor, definition, definition.organisation)
    current = ProcedureVersion.objects.select_for_update().select_related("workflow").get(
        pk=draft.pk)
    if current.published_at is not None or revision_of(current) != int(expected_revision):
        raise StaleDraft(current)
    problems = publication_problems(current)
    if problems:
        raise ValidationError(problems)
    return publish_version(actor=actor, definition=definition,
                           schema=published_schema(current.schema), workflow=current.workflow,
                           draft=current, request=request)
