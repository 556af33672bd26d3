"""Writes the REST API adds to the procedures engine: filing a dossier on behalf of an
applicant, for the organisation's internal tools (a counter application, an import script).

The answers come as JSON (`{field key: value}`) and are checked exactly like the pages check
them: each visible page in turn goes through `schema.build_page_form`, bound to the answers
turned into the page's inputs; then `services.submit_dossier` files the dossier (number,
state, timeline, confirmation e-mail). Nothing is written when an answer is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event

from . import schema as schema_helpers
from . import services
from .fieldtypes import AddressType
from .models import Dossier, DossierEvent, ProcedureDefinition, Workflow


def may_file_on_behalf(user, definition: ProcedureDefinition) -> bool:
    """Agents who play a workflow role on the procedure's published version (those who
    process its dossiers; its owning service when the workflow defines no role)."""
    from .queries import RoleHoldings

    version = definition.current_version
    if version is None or not getattr(user, "is_authenticated", False):
        return False
    holdings = RoleHoldings.of(user, definition.organisation)
    workflow = version.workflow
    if holdings.roles_for(definition, workflow):
        return True
    return not workflow.role_keys() and definition.service_id in holdings.service_ids


def _inputs(spec: Mapping, name: str, value: Any, post: QueryDict,
            errors: dict[str, list[str]]) -> None:
    """Put the JSON answer `value` of field `spec` into `post` as the page's inputs."""
    kind = spec.get("type")
    if value is None:
        return
    if kind == "file":
        errors[name] = [_("Les fichiers ne peuvent pas être joints par l'API : déposez le "
                          "dossier sans ce fichier (s'il est facultatif) ou depuis le site.")]
        return
    if kind == "block":
        if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
            errors[name] = [_("Attendu : une liste d'objets.")]
            return
        post[f"{name}-count"] = str(len(value))
        for index, item in enumerate(value):
            for sub in schema_helpers.fields_of(spec):
                _inputs(sub, f"{name}-{index}-{sub.get('key')}", item.get(sub.get("key")),
                        post, errors)
        return
    if kind == "address":
        if not isinstance(value, Mapping):
            errors[name] = [_("Attendu : un objet {street, postcode, city}.")]
            return
        for part in AddressType.parts:
            post[f"{name}-{part}"] = str(value.get(part) or "")
        return
    if kind == "multichoice":
        post.setlist(name, [str(v) for v in (value if isinstance(value, list) else [value])])
        return
    if kind == "yesno" and isinstance(value, bool):
        post[name] = "oui" if value else "non"
        return
    if isinstance(value, Mapping | list):
        errors[name] = [_("Attendu : une valeur simple (texte, nombre, date AAAA-MM-JJ).")]
        return
    post[name] = str(value)


def check_answers(definition: ProcedureDefinition, answers: Mapping[str, Any], *, user=None
                  ) -> tuple[dict[str, Any], dict[str, dict[str, list[str]]]]:
    """(answers as stored, inputs by page) when every visible page validates; otherwise
    raises ValidationError with the errors by input name ("answers.<name>")."""
    version = definition.current_version
    assert version is not None
    schema = version.schema
    if not isinstance(answers, Mapping):
        raise ValidationError({"answers": [_("Attendu : un objet {clé du champ: réponse}.")]})
    errors: dict[str, list[str]] = {}
    known = schema_helpers.answer_names(schema)
    for key in answers:
        if key not in known:
            errors[key] = [_("Ce champ n'existe pas dans le formulaire de cette démarche.")]
    data: dict[str, Any] = {}
    page_inputs: dict[str, dict[str, list[str]]] = {}
    for page in schema_helpers.pages_of(schema):
        visible = {p.get("key") for p in schema_helpers.visible_pages(schema, data)}
        if page.get("key") not in visible:
            continue
        post = QueryDict(mutable=True)
        for field in schema_helpers.fields_of(page):
            field_key = field.get("key")
            if isinstance(field_key, str):
                _inputs(field, field_key, answers.get(field_key), post, errors)
        form = schema_helpers.build_page_form(schema, page["key"], answers=data, data=post,
                                              files={}, user=user)
        if not form.is_valid():
            for name, messages in form.errors.items():
                errors.setdefault(name if name != "__all__" else "", []).extend(
                    str(message) for message in messages)
        data.update(form.answers)
        page_inputs[page["key"]] = {name: post.getlist(name) for name in post}
    if errors:
        raise ValidationError({(f"answers.{name}" if name else "answers"): messages
                               for name, messages in errors.items()})
    return data, page_inputs


@transaction.atomic
def file_on_behalf(*, actor, definition: ProcedureDefinition, applicant_email: str,
                   answers: Mapping[str, Any], request: HttpRequest | None = None) -> Dossier:
    """File a complete dossier of `definition` for the applicant `applicant_email`, as the
    agent `actor`. The dossier belongs to the organisation's active account with that
    e-mail address when there is one (it then appears in their "Mes démarches"), else it is
    an anonymous dossier followed through the tracking link e-mailed to that address."""
    from mairie.core.users.models import User

    organisation = definition.organisation
    if actor.organisation_id != organisation.pk or not may_file_on_behalf(actor, definition):
        raise PermissionDenied(_("Vous ne traitez pas cette démarche : vous ne pouvez pas "
                                 "déposer de dossier pour un demandeur."))
    refusal = services.filing_refusal(definition, actor)
    if refusal:
        raise services.SubmissionRefused(refusal)
    applicant_email = (applicant_email or "").strip()
    applicant = (User.objects.filter(organisation=organisation, is_active=True,
                                     email__iexact=applicant_email).first()
                 if applicant_email else None)
    data, page_inputs = check_answers(definition, answers, user=applicant)
    version = definition.current_version
    assert version is not None
    dossier = Dossier.objects.create(
        organisation=organisation, version=version, applicant=applicant,
        applicant_email=applicant.email if applicant else applicant_email, data=data,
        page_inputs=page_inputs, current_page="",
        state=version.workflow.first_state_of_kind(Workflow.Kind.DRAFT))
    DossierEvent.objects.create(organisation=organisation, dossier=dossier, kind="started",
                                actor=actor, details={"on_behalf": True})
    record_event(organisation=organisation, action="procedures.dossier_filed_on_behalf",
                 actor=actor, obj=dossier, object_label=definition.title, request=request,
                 details={"version": version.number, "applicant_account": bool(applicant),
                          "fields": sorted(key for key, value in data.items()
                                           if value is not None)})
    try:
        return services.submit_dossier(actor=actor, dossier=dossier, request=request)
    except services.PageInvalid as exc:  # pragma: no cover — checked above, page by page
        raise ValidationError({"answers": exc.messages}) from exc
