"""Citizen pages of the procedures engine: catalogue, procedure page, page-by-page filling,
review, receipt (HTML and PDF), "Mes démarches" and the anonymous tracking page.

Everything works without JavaScript: each page of the form is a server round trip, and the
buttons ("Enregistrer et continuer", "Précédent", "Enregistrer le brouillon") are plain submit
buttons named `action`. Every dossier is fetched through `queries.py`: someone else's dossier
is a 404, never a 403, so its existence is not revealed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from . import queries, services
from . import schema as schema_helpers
from .forms import AnonymousEmailForm
from .models import Audience, Dossier
from .pdf import render_receipt
from .rules import abilities

SESSION_DRAFTS = "procedures_drafts"
NOT_TYPED = {"csrfmiddlewaretoken", "lock_version", "action"}


def _session_drafts(request) -> list[str]:
    return list(request.session.get(SESSION_DRAFTS, []))


def _remember_draft(request, dossier: Dossier) -> None:
    drafts = _session_drafts(request)
    drafts.append(str(dossier.pk))
    request.session[SESSION_DRAFTS] = drafts[-20:]


def _dossier(request, pk) -> tuple[Dossier, dict[str, bool]]:
    dossier = queries.dossier_for_applicant(request.user, request.organisation, pk,
                                            session_drafts=_session_drafts(request))
    anonymous_owner = dossier.applicant_id is None and str(dossier.pk) in _session_drafts(
        request)
    return dossier, abilities(request.user, dossier, anonymous_owner=anonymous_owner)


# --- Catalogue and procedure page -----------------------------------------------------------


@require_safe
def catalogue(request):
    search = request.GET.get("q", "")[:200]
    procedures = list(queries.catalogue_for(request.user, request.organisation, search))
    groups: list[tuple[object, list]] = []
    for procedure in procedures:
        if not groups or groups[-1][0] != procedure.theme:
            groups.append((procedure.theme, []))
        groups[-1][1].append(procedure)
    return render(request, "procedures/catalogue.html",
                  {"groups": groups, "search": search, "count": len(procedures)})


@require_http_methods(["GET", "HEAD", "POST"])
def procedure_page(request, slug):
    definition = queries.procedure_for(request.user, request.organisation, slug)
    refusal = services.filing_refusal(definition, request.user)
    if request.method == "POST":
        if (definition.audience == Audience.RESIDENTS
                and not request.user.is_authenticated):
            return redirect_to_login(request.get_full_path())
        try:
            dossier = services.start_dossier(actor_or_none=request.user, definition=definition,
                                             request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("procedures:procedure", slug=slug)
        if dossier.applicant_id is None:
            _remember_draft(request, dossier)
        return redirect(_page_url(dossier, dossier.current_page))
    needs_login = (definition.audience == Audience.RESIDENTS
                   and not request.user.is_authenticated)
    return render(request, "procedures/procedure.html", {
        "definition": definition, "refusal": None if needs_login else refusal,
        "needs_login": needs_login})


# --- Filling --------------------------------------------------------------------------------


def _page_url(dossier: Dossier, page_key: str) -> str:
    if not page_key:
        return reverse("procedures:review", args=[dossier.pk])
    return reverse("procedures:page", args=[dossier.pk, page_key])


def _neighbours(dossier: Dossier, page_key: str) -> tuple[str | None, str | None, list]:
    pages = schema_helpers.visible_pages(dossier.version.schema, dossier.data)
    keys = [p["key"] for p in pages]
    if page_key not in keys:
        return None, None, pages
    index = keys.index(page_key)
    previous = keys[index - 1] if index > 0 else None
    following = keys[index + 1] if index + 1 < len(keys) else None
    return previous, following, pages


def _typed(form) -> dict[str, list[str]]:
    """What was typed on the page, after the form applied an "add/remove an item" button
    (the buttons themselves are not kept: replaying them would add an item each time)."""
    return {name: form.data.getlist(name) for name in form.data
            if name not in NOT_TYPED and not name.startswith(("_add_", "_remove_"))}


@require_http_methods(["GET", "HEAD", "POST"])
def fill_page(request, pk, page_key):
    dossier, can = _dossier(request, pk)
    if not can["edit"]:
        return redirect("procedures:receipt", pk=dossier.pk)
    previous, following, pages = _neighbours(dossier, page_key)
    page = next((p for p in pages if p["key"] == page_key), None)
    if page is None:
        raise Http404
    schema = dossier.version.schema
    stale = False
    if request.method == "POST":
        action = request.POST.get("action", "next")
        form = schema_helpers.build_page_form(schema, page_key, answers=dossier.data,
                                              data=request.POST, files=request.FILES,
                                              user=_answering_for(request, dossier))
        valid = form.is_valid()
        try:
            dossier = services.save_page(
                actor=request.user, dossier=dossier, page_key=page_key, answers=form.answers,
                lock_version=_int(request.POST.get("lock_version")), typed=_typed(form),
                uploads=form.pending_uploads, request=request)
        except services.StaleDossier as exc:
            stale = True
            dossier = exc.dossier
            form.add_error(None, str(exc))
        else:
            for name, refusal in dossier.refused_uploads.items():  # virus, scanner down
                form.add_error(name if name in form.fields else None, refusal)
                valid = False
        if not stale:
            previous, following, pages = _neighbours(dossier, page_key)
            if action == "previous":
                return redirect(_page_url(dossier, previous) if previous
                                else reverse("procedures:procedure",
                                             args=[dossier.version.definition.slug]))
            if action == "draft":
                messages.success(request, _("Votre brouillon est enregistré. Vous pourrez le "
                                            "reprendre plus tard."))
                return redirect(_page_url(dossier, page_key))
            if action == "next" and valid:
                return redirect(_page_url(dossier, following or ""))
    else:
        if page_key in dossier.page_inputs:
            form = services.page_form(dossier, page_key, user=_answering_for(request, dossier))
            form.is_valid()  # show again what was wrong when the page was left
        else:
            form = schema_helpers.build_page_form(schema, page_key, answers=dossier.data,
                                                  user=_answering_for(request, dossier))
    keys = [p["key"] for p in pages]
    return render(request, "procedures/fill_page.html", {
        "dossier": dossier, "definition": dossier.version.definition, "page": page,
        "form": form, "previous": previous, "following": following,
        "step": keys.index(page_key) + 1, "steps": len(keys), "stale": stale,
        "multipart": any(f.get("type") == "file" for f in _fields_of(page)),
        "resume_url": request.build_absolute_uri(
            reverse("procedures:resume", args=[dossier.tracking_code]))
        if dossier.applicant_id is None else "",
    }, status=409 if stale else 200)


@require_safe
def resume_draft(request, code):
    """The secret link of an anonymous draft (shown on each of its pages): it brings the draft
    back into this browser's session, after the browser was closed or on another device."""
    dossier = queries.anonymous_dossier_for_code(request.organisation, code)
    if dossier.submitted_at is not None:
        return redirect("procedures:tracking", code=code)
    _remember_draft(request, dossier)
    return redirect(_page_url(dossier, dossier.current_page))


def _answering_for(request, dossier: Dossier):
    """Whose account fills the fields that take their value from it: the applicant's when an
    agent files for them (`filed_by`), never the agent's."""
    if dossier.filed_by_id and dossier.filed_by_id == getattr(request.user, "pk", None):
        return dossier.applicant
    return request.user


def _fields_of(page: dict):
    for field in page.get("fields", []):
        yield field
        yield from _fields_of(field)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _review_context(request, dossier: Dossier, can) -> dict:
    schema = dossier.version.schema
    pages = schema_helpers.visible_pages(schema, dossier.data)
    errors = services.page_errors(dossier, user=_answering_for(request, dossier))
    sections = [{"page": page,
                 "answers": schema_helpers.answers_summary({"pages": [page]}, dossier.data),
                 "has_errors": page["key"] in errors} for page in pages]
    return {"dossier": dossier, "definition": dossier.version.definition, "sections": sections,
            "has_errors": bool(errors), "can": can,
            "files": list(queries.files_of(dossier))}


@require_http_methods(["GET", "HEAD", "POST"])
def review(request, pk):
    dossier, can = _dossier(request, pk)
    if not can["edit"]:
        return redirect("procedures:receipt", pk=dossier.pk)
    anonymous = dossier.applicant_id is None
    email_form = AnonymousEmailForm(request.POST or None,
                                    initial={"email": dossier.applicant_email}) \
        if anonymous else None
    error = ""
    if request.method == "POST":
        if email_form is not None:
            if not email_form.is_valid():
                context = _review_context(request, dossier, can)
                context.update(email_form=email_form)
                return render(request, "procedures/review.html", context)
            services.set_anonymous_email(dossier=dossier, email=email_form.cleaned_data["email"],
                                         request=request)
        try:
            services.submit_dossier(actor=request.user, dossier=dossier, request=request)
        except services.PageInvalid as exc:
            messages.error(request, exc.messages[0])
            return redirect(_page_url(dossier, exc.page_key))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return redirect("procedures:receipt", pk=dossier.pk)
    context = _review_context(request, dossier, can)
    context.update(email_form=email_form, error=error)
    return render(request, "procedures/review.html", context)


# --- After submission -----------------------------------------------------------------------


@require_safe
def receipt(request, pk):
    dossier, can = _dossier(request, pk)
    if not can["receipt"]:
        return redirect(_page_url(dossier, dossier.current_page))
    return render(request, "procedures/receipt.html", {
        "dossier": dossier, "definition": dossier.version.definition,
        "tracking_url": request.build_absolute_uri(
            reverse("procedures:tracking", args=[dossier.tracking_code]))})


@require_safe
def receipt_pdf(request, pk):
    dossier, can = _dossier(request, pk)
    if not can["receipt"]:
        raise Http404
    response = HttpResponse(render_receipt(dossier, files=list(queries.files_of(dossier))),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="recepisse-{dossier.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def my_dossiers(request):
    from django.db.models import Exists, OuterRef

    from .models import CorrectionRequest

    # "Action attendue" when a correction request waits for the applicant (one subquery).
    dossiers = queries.dossiers_of_applicant(request.user, request.organisation).annotate(
        correction_open=Exists(CorrectionRequest.objects.filter(
            dossier=OuterRef("pk"), answered_at__isnull=True)))
    page = Paginator(dossiers, 20).get_page(request.GET.get("page"))
    return render(request, "procedures/my_dossiers.html", {"page_obj": page})


def tracking_context(request, dossier: Dossier, *, message_form=None) -> dict:
    """The tracking page: state, public history only, the thread and the open correction
    (processing.applicant_context), and the message form for an anonymous applicant."""
    from . import processing
    from .forms_processing import MessageForm

    context = processing.applicant_context(request, dossier)
    return {"dossier": dossier, "definition": dossier.version.definition,
            "events": context.pop("public_events"), **context,
            "public_state": processing.public_state_label(dossier),
            "message_form": message_form or MessageForm()}


@require_safe
def tracking(request, code):
    dossier = queries.dossier_for_tracking_code(request.organisation, code)
    return render(request, "procedures/tracking.html", tracking_context(request, dossier))

