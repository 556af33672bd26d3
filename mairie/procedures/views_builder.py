"""The procedure builder in the agents' workspace: settings, the form of the draft version,
preview and publication. Every page works without JavaScript (plain forms and server round
trips); every write goes through `builder.py`.

Who may design which procedure is `rules.may_design`; a procedure the agent may not design is
a 404 (`queries.procedure_for_designer`), the list itself is a 403 for agents who design none.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from mairie.core.organisation.models import Membership
from mairie.core.organisation.queries import is_org_administrator, services_of
from mairie.core.web.views import agent_required

from . import builder, queries
from . import schema as schema_helpers
from .fieldtypes import FIELD_TYPES
from .forms_builder import (
    AddFieldForm,
    AddPageForm,
    FieldForm,
    PageForm,
    RevisionForm,
    SettingsForm,
    ThemeForm,
)
from .models import ProcedureDefinition, ProcedureVersion
from .rules import DESIGNER_ROLES, may_design

PREVIEW_SESSION = "procedures_builder_preview"


def _require_designer(request) -> None:
    if not may_design(request.user, None, request.organisation):
        raise PermissionDenied


def _definition(request, pk) -> ProcedureDefinition:
    _require_designer(request)
    return queries.procedure_for_designer(request.user, request.organisation, pk)


def _draft(definition: ProcedureDefinition) -> ProcedureVersion | None:
    return (definition.versions.filter(published_at__isnull=True).select_related("workflow")
            .order_by("-number").first())


def _owned_services(request):
    services = services_of(request.organisation).order_by("name")
    if is_org_administrator(request.user, request.organisation):
        return services
    return services.filter(pk__in=Membership.objects.filter(
        user=request.user, organisation=request.organisation, role__in=DESIGNER_ROLES)
        .values("service"))


def _report(form, exc: ValidationError, *, option_input: str | None = None) -> None:
    """Put a service's refusal next to the input it names (the summary lists it too)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        if name == "options":
            name = option_input or ""
        form.add_error(name if name in form.fields else None, errors)


def _context(definition, draft, tab: str, **extra) -> dict:
    return {"definition": definition, "draft": draft, "tab": tab, **extra}


# --- List and settings -----------------------------------------------------------------------


@agent_required
@require_safe
def procedure_list(request):
    _require_designer(request)
    procedures = list(queries.procedures_for_designer(request.user, request.organisation))
    return render(request, "procedures/builder/list.html", {"procedures": procedures})


def _settings_page(request, definition: ProcedureDefinition | None):
    draft = _draft(definition) if definition else None
    running = draft or (definition.current_version if definition else None)
    workflow = running.workflow if running else None
    mappings = ({m.role: (m.service, m.membership_role)
                 for m in definition.role_mappings.select_related("service")}
                if definition else {})
    initial = {}
    if definition is not None:
        initial = {name: getattr(definition, name) for name in builder.SETTINGS_FIELDS}
        initial.update(workflow=workflow, version=definition.updated_at.isoformat())
    else:
        initial = {"audience": "residents"}
    kwargs = {"organisation": request.organisation, "services": _owned_services(request),
              "workflow": workflow, "mappings": mappings, "initial": initial}
    form = SettingsForm(request.POST or None, **kwargs)
    stale = False
    if request.method == "POST" and form.is_valid():
        try:
            saved = builder.save_settings(
                actor=request.user, organisation=request.organisation, definition=definition,
                values=form.values(), workflow=form.cleaned_data["workflow"],
                mappings=form.mappings(), expected_version=form.cleaned_data["version"],
                request=request)
        except builder.StaleProcedure as exc:
            stale = True
            data = request.POST.copy()
            data["version"] = exc.current.updated_at.isoformat()
            form = SettingsForm(data, **kwargs)
            form.is_valid()
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _report(form, exc)
        else:
            if definition is None:
                messages.success(request, _("La démarche est créée. Construisez maintenant son "
                                            "formulaire."))
                return redirect("procedures:builder-form", pk=saved.pk)
            messages.success(request, _("Les réglages de la démarche sont enregistrés."))
            return redirect("procedures:builder-settings", pk=saved.pk)
    template = "procedures/builder/settings.html"
    return render(request, template, _context(definition, draft, "settings", form=form,
                                              stale=stale), status=409 if stale else 200)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def procedure_create(request):
    _require_designer(request)
    return _settings_page(request, None)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def procedure_settings(request, pk):
    return _settings_page(request, _definition(request, pk))


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def theme_create(request):
    _require_designer(request)
    back = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    form = ThemeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            theme = builder.create_theme(actor=request.user, organisation=request.organisation,
                                         name=form.cleaned_data["name"], request=request)
        except ValidationError as exc:
            _report(form, exc)
        else:
            messages.success(request, _("Le thème « %(name)s » est créé : choisissez-le dans "
                                        "les réglages.") % {"name": theme.name})
            return redirect(back or reverse("procedures:builder-list"))
    return render(request, "procedures/builder/theme.html", {"form": form, "next": back})


# --- The form of the draft -------------------------------------------------------------------


def _outline(schema: dict) -> list[dict]:
    """The pages and fields as the overview shows them (type labels, choice values)."""
    pages = []
    for page in schema_helpers.pages_of(schema):
        fields = []
        for field in schema_helpers.fields_of(page):
            entry = _field_entry(field)
            entry["sub_fields"] = [_field_entry(sub) for sub in schema_helpers.fields_of(field)] \
                if field.get("type") == "block" else []
            fields.append(entry)
        pages.append({"page": page, "fields": fields})
    return pages


def _field_entry(field: dict) -> dict:
    field_type = FIELD_TYPES.get(field.get("type", ""))
    choices = (field.get("options") or {}).get("choices") or []
    return {"field": field, "type_label": field_type.label if field_type else field.get("type"),
            "choices": [c for c in choices if isinstance(c, dict)]}


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def form_overview(request, pk):
    definition = _definition(request, pk)
    draft = _draft(definition)
    add_page_form = AddPageForm(initial={"revision": builder.revision_of(draft) if draft else 0})
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "start":
            builder.ensure_draft(actor=request.user, definition=definition, request=request)
            messages.success(request, _("Une nouvelle version est en préparation : les usagers "
                                        "continuent de remplir la version publiée jusqu'à la "
                                        "publication de celle-ci."))
            return redirect("procedures:builder-form", pk=definition.pk)
        if draft is None:
            raise Http404
        response, add_page_form = _overview_action(request, definition, draft, action)
        if response is not None:
            return response
        draft = _draft(definition)
    return render(request, "procedures/builder/form.html", _context(
        definition, draft, "form", outline=_outline(draft.schema) if draft else [],
        published_outline=_outline(definition.current_version.schema)
        if draft is None and definition.current_version else [],
        problems=builder.publication_problems(draft) if draft else [],
        add_page_form=add_page_form, revision=builder.revision_of(draft) if draft else 0,
        add_field_form=AddFieldForm(), add_sub_field_form=AddFieldForm(in_block=True)))


def _overview_action(request, definition, draft, action: str):
    """Run one button of the overview; (redirect, None) when done, (None, form) to re-show."""
    revision_form = RevisionForm(request.POST)
    add_page_form = AddPageForm(request.POST if action == "add_page" else None,
                                initial={"revision": builder.revision_of(draft)})
    back = redirect("procedures:builder-form", pk=definition.pk)
    if not revision_form.is_valid():
        messages.error(request, _("La page est incomplète : rechargez-la."))
        return back, add_page_form
    common = {"actor": request.user, "draft": draft, "request": request,
              "expected_revision": revision_form.cleaned_data["revision"]}
    page_key = request.POST.get("page", "")
    field_key = request.POST.get("field", "")
    block_key = request.POST.get("block") or None
    direction = "up" if request.POST.get("direction") == "up" else "down"
    try:
        if action == "add_page":
            if not add_page_form.is_valid():
                return None, add_page_form
            builder.add_page(title=add_page_form.cleaned_data["title"], **common)
            messages.success(request, _("La page est ajoutée."))
        elif action == "move_page":
            builder.move_page(page_key=page_key, direction=direction, **common)
        elif action == "delete_page":
            builder.delete_page(page_key=page_key, **common)
            messages.success(request, _("La page et ses champs sont supprimés."))
        elif action == "move_field":
            builder.move_field(page_key=page_key, field_key=field_key, direction=direction,
                               block_key=block_key, **common)
        elif action == "delete_field":
            builder.delete_field(page_key=page_key, field_key=field_key, block_key=block_key,
                                 **common)
            messages.success(request, _("Le champ est supprimé."))
        else:
            raise Http404
    except builder.StaleDraft as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        if action == "add_page" and hasattr(exc, "error_dict"):
            _report(add_page_form, exc)
            return None, add_page_form
        messages.error(request, " ".join(exc.messages))
    return back, add_page_form


def _no_draft(request, definition):
    """The form pages edit the draft: without one, back to the overview to start it."""
    messages.info(request, _("Préparez d'abord une nouvelle version du formulaire."))
    return redirect("procedures:builder-form", pk=definition.pk)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def page_edit(request, pk, page_key):
    definition = _definition(request, pk)
    draft = _draft(definition)
    if draft is None:
        return _no_draft(request, definition)
    try:
        page = schema_helpers.get_page(draft.schema, page_key)
    except KeyError:
        raise Http404 from None
    form = PageForm(request.POST or None, initial={
        "revision": builder.revision_of(draft), "title": page.get("title"),
        "key": page.get("key"), "condition": page.get("condition", "")})
    stale = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            builder.update_page(actor=request.user, draft=draft,
                                expected_revision=data["revision"], page_key=page_key,
                                title=data["title"], key=data["key"],
                                condition=data["condition"], request=request)
        except builder.StaleDraft as exc:
            stale = True
            form = _rebound(PageForm, request.POST, exc.draft)
            form.add_error(None, str(exc))
            draft = exc.draft
        except ValidationError as exc:
            _report(form, exc)
        else:
            messages.success(request, _("La page est enregistrée."))
            return redirect("procedures:builder-form", pk=definition.pk)
    return render(request, "procedures/builder/page.html", _context(
        definition, draft, "form", form=form, page=page,
        known_keys=sorted(schema_helpers.answer_names(draft.schema))),
        status=409 if stale else 200)


def _rebound(form_class, post, draft, **kwargs):
    """The same input, carrying the draft's new revision (the next save is made knowingly)."""
    data = post.copy()
    data["revision"] = str(builder.revision_of(draft))
    form = form_class(data, **kwargs)
    form.is_valid()
    return form


def _find_field(schema: dict, page_key: str, block_key: str | None, field_key: str) -> dict:
    try:
        page = schema_helpers.get_page(schema, page_key)
    except KeyError:
        raise Http404 from None
    container = page
    if block_key:
        container = next((f for f in schema_helpers.fields_of(page)
                          if f.get("key") == block_key and f.get("type") == "block"), None)
        if container is None:
            raise Http404
    found = next((f for f in schema_helpers.fields_of(container) if f.get("key") == field_key),
                 None)
    if found is None:
        raise Http404
    return found


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def field_edit(request, pk, page_key, field_key=None, block_key=None):
    """Add a field (`field_key` None; its type comes from `?type=`) or change one."""
    definition = _definition(request, pk)
    draft = _draft(definition)
    if draft is None:
        return _no_draft(request, definition)
    try:
        page = schema_helpers.get_page(draft.schema, page_key)
    except KeyError:
        raise Http404 from None
    block = _find_field(draft.schema, page_key, None, block_key) if block_key else None
    spec = _find_field(draft.schema, page_key, block_key, field_key) if field_key else None
    field_type = spec["type"] if spec else (request.POST.get("type")
                                            or request.GET.get("type", ""))
    if field_type not in FIELD_TYPES or (block_key and field_type in ("block", "file")):
        raise Http404
    kwargs = {"field_type": field_type, "spec": spec,
              "initial": {"revision": builder.revision_of(draft), "required": True}}
    form = FieldForm(request.POST or None, **kwargs)
    stale = False
    if request.method == "POST" and form.is_valid():
        try:
            draft = builder.save_field(
                actor=request.user, draft=draft, expected_revision=form.cleaned_data["revision"],
                page_key=page_key, spec=form.spec(), original_key=field_key, block_key=block_key,
                request=request)
        except builder.StaleDraft as exc:
            stale = True
            draft = exc.draft
            form = _rebound(FieldForm, request.POST, exc.draft, **kwargs)
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _report(form, exc, option_input=form.option_input())
        else:
            messages.success(request, _("Le champ « %(label)s » est enregistré.")
                             % {"label": form.spec()["label"][:80]})
            return redirect(reverse("procedures:builder-form", args=[definition.pk])
                            + f"#page-{page_key}")
    return render(request, "procedures/builder/field.html", _context(
        definition, draft, "form", form=form, page=page, block_spec=block, spec=spec,
        field_type=field_type, known_keys=sorted(
            schema_helpers.answer_names(draft.schema)
            | {s.get("key") for s in schema_helpers.fields_of(block or {})})),
        status=409 if stale else 200)


# --- Preview and publication -------------------------------------------------------------------


def _preview_answers(request, version: ProcedureVersion) -> dict:
    stored = request.session.get(PREVIEW_SESSION) or {}
    if stored.get("version") != str(version.pk):
        return {}
    return dict(stored.get("answers") or {})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def preview(request, pk, page_key=None):
    """The draft (or, without one, the published version) as a resident fills it, page by
    page. Answers live in the agent's session only, for moving between pages: no dossier is
    created, no file stored."""
    definition = _definition(request, pk)
    version = _draft(definition) or definition.current_version
    if version is None:
        raise Http404
    schema = builder.published_schema(version.schema)
    answers = _preview_answers(request, version)
    if request.GET.get("restart") == "1" or request.POST.get("action") == "restart":
        request.session.pop(PREVIEW_SESSION, None)
        return redirect("procedures:builder-preview", pk=definition.pk)
    pages = schema_helpers.visible_pages(schema, answers)
    keys = [p["key"] for p in pages]
    if not keys:
        raise Http404
    if page_key is None:
        page_key = keys[0]
    if page_key not in keys:
        raise Http404
    index = keys.index(page_key)
    page = pages[index]
    done = False
    if request.method == "POST":
        form = schema_helpers.build_page_form(schema, page_key, answers=answers,
                                              data=request.POST,
                                              files=request.FILES, user=request.user)
        valid = form.is_valid()
        page_answers = {k: v for k, v in form.answers.items()
                        if not hasattr(v, "read")}  # uploads are never kept
        answers.update(page_answers)
        request.session[PREVIEW_SESSION] = {"version": str(version.pk),
                                            "answers": _jsonable(answers)}
        action = request.POST.get("action", "next")
        pages = schema_helpers.visible_pages(schema, answers)
        keys = [p["key"] for p in pages]
        if action == "previous" and index > 0:
            return redirect("procedures:builder-preview-page", pk=definition.pk,
                            page_key=keys[max(0, keys.index(page_key) - 1)]
                            if page_key in keys else keys[0])
        if valid and form.block_action is None:
            position = keys.index(page_key) if page_key in keys else -1
            if position + 1 < len(keys):
                return redirect("procedures:builder-preview-page", pk=definition.pk,
                                page_key=keys[position + 1])
            done = True
    else:
        form = schema_helpers.build_page_form(schema, page_key, answers=answers,
                                              user=request.user)
    return render(request, "procedures/builder/preview.html", _context(
        definition, _draft(definition), "preview", version=version, page=page, form=form,
        step=index + 1, steps=len(keys), previous=keys[index - 1] if index else None,
        following=keys[index + 1] if index + 1 < len(keys) else None, done=done,
        summary=schema_helpers.answers_summary(schema, answers) if done else [],
        multipart=any(f.get("type") == "file" for _p, f in schema_helpers.iter_fields(
            {"pages": [page]}))))


def _jsonable(answers: dict) -> dict:
    import json

    return json.loads(json.dumps(answers, default=str))


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def publish(request, pk):
    definition = _definition(request, pk)
    draft = _draft(definition)
    if request.method == "POST":
        if draft is None:
            raise Http404
        form = RevisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("La page est incomplète : rechargez-la."))
            return redirect("procedures:builder-publish", pk=definition.pk)
        try:
            version = builder.publish_draft(actor=request.user, draft=draft,
                                            expected_revision=form.cleaned_data["revision"],
                                            request=request)
        except builder.StaleDraft as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, _("La version n'est pas publiée : %(errors)s")
                           % {"errors": " ".join(exc.messages)})
        else:
            request.session.pop(PREVIEW_SESSION, None)
            messages.success(request, _("La version %(number)s est publiée : c'est celle que "
                                        "les usagers remplissent désormais.")
                             % {"number": version.number})
            return redirect("procedures:builder-publish", pk=definition.pk)
        return redirect("procedures:builder-publish", pk=definition.pk)
    return render(request, "procedures/builder/publish.html", _context(
        definition, draft, "publish",
        problems=builder.publication_problems(draft) if draft else [],
        revision=builder.revision_of(draft) if draft else 0,
        versions=list(queries.versions_of(definition)),
        mappings=list(definition.role_mappings.select_related("service"))))



_PAGE = "<uuid:pk>/formulaire/<slug:page_key>/"

urlpatterns = [  # mounted at agent/demarches/ by urls.py
    path("", procedure_list, name="builder-list"),
    path("nouvelle/", procedure_create, name="builder-create"),
    path("themes/nouveau/", theme_create, name="builder-theme"),
    path("<uuid:pk>/", procedure_settings, name="builder-settings"),
    path("<uuid:pk>/formulaire/", form_overview, name="builder-form"),
    path(_PAGE, page_edit, name="builder-page"),
    path(f"{_PAGE}nouveau-champ/", field_edit, name="builder-field-add"),
    path(f"{_PAGE}champs/<slug:field_key>/", field_edit, name="builder-field"),
    path(f"{_PAGE}blocs/<slug:block_key>/nouveau-champ/", field_edit,
         name="builder-subfield-add"),
    path(f"{_PAGE}blocs/<slug:block_key>/champs/<slug:field_key>/", field_edit,
         name="builder-subfield"),
    path("<uuid:pk>/apercu/", preview, name="builder-preview"),
    path("<uuid:pk>/apercu/<slug:page_key>/", preview, name="builder-preview-page"),
    path("<uuid:pk>/publication/", publish, name="builder-publish"),
]
