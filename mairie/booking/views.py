"""The booking pages of the agent workspace (`/agent/reservations/`) and the secret iCalendar
feeds. Thin views: reads in `queries.py`, writes in `services.py`, rules in `rules.py`."""

from __future__ import annotations

import datetime
from itertools import groupby
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mairie.core.organisation.models import Role
from mairie.core.web.views import agent_required

from . import feeds, queries, rules, services
from .forms import (
    CheckInForm,
    CheckOutForm,
    FreeSearchForm,
    RefuseForm,
    ReservationForm,
    ResourceForm,
    RightFormSet,
    rights_of,
)
from .models import Reservation, Resource

AGENDA_DAYS = 14


def _page(request, template: str, context: dict, status: int = 200):
    """Render a booking page with its sub-navigation: the number of requests the agent
    decides (one COUNT), and whether they may add resources (from the roles already read)."""
    pairs = rules.pairs_of(request.user, request.organisation)
    context.update(
        to_decide_count=queries.requests_to_decide(request.user, request.organisation).count(),
        may_add_resource=any(role in (Role.MANAGER, Role.ADMINISTRATOR)
                             for _service, role in pairs))
    return render(request, template, context, status=status)


def _form_errors(form, exc: ValidationError, field_for=None) -> None:
    """Put a service's ValidationError on the form: on the field it names, else on top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = field_for(name) if field_for else name
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _today(request) -> datetime.date:
    return services.local(timezone.now(), request.organisation).date()


def _visible_resource(request, pk) -> Resource:
    resource = queries.resource_visible_to(request.user, request.organisation, pk)
    if resource is None:
        raise Http404
    return resource


# --- Resources ------------------------------------------------------------------------------


@agent_required
@require_GET
def resources(request):
    """The resources the agent sees, and those free over a time range (each linking to the
    reservation form, filled with that range)."""
    organisation = request.organisation
    form = FreeSearchForm(request.GET or None, organisation=organisation)
    free = None
    if form.is_bound and form.is_valid():
        start, end = form.range()
        free = list(queries.free_resources(
            request.user, organisation, start=start, end=end,
            min_capacity=form.cleaned_data["min_capacity"],
            kind=form.cleaned_data["kind"] or None)[:50])
    visible = list(queries.resources_visible_to(request.user, organisation)[:200])
    prefill = ""
    if free is not None:
        prefill = "?" + urlencode({name: form.data[name] for name in ("day", "start", "end")})
    return _page(request, "booking/resources.html", {
        "form": form, "free": free, "resources": visible, "prefill": prefill})


def _rules_lines(resource: Resource) -> list[str]:
    rights = list(resource.rights.all())
    lines = [str(right) for right in rights] or [_("Tous les agents de la collectivité")]
    return lines


@agent_required
@require_GET
def resource(request, pk):
    """One resource: what it is, its rules, its agenda of the next two weeks, its feed for
    those who manage it, and the loans of an equipment item."""
    item = _visible_resource(request, pk)
    user = request.user
    now = timezone.now()
    first_day = services.local(now, request.organisation).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
    agenda = list(queries.resource_agenda(user, item, now,
                                          first_day + datetime.timedelta(days=AGENDA_DAYS)))
    sees_all = rules.manages(user, item) or rules.may_approve(user, item) or \
        rules.sees_every_resource(user, request.organisation)
    for reservation in agenda:  # rules.may_see_reservation, without a query per row
        reservation.shows_title = sees_all or reservation.booker_id == user.pk
    days = [(day, list(rows)) for day, rows in groupby(
        agenda, key=lambda r: services.local(r.start, request.organisation).date())]
    manages = rules.manages(user, item)
    context = {
        "resource": item, "rights": _rules_lines(item), "days": days,
        "agenda_days": AGENDA_DAYS, "may_book": rules.may_book(user, item),
        "manages": manages, "may_edit": services.may_edit_resource(user, item),
        "may_lend": item.kind == Resource.Kind.EQUIPMENT and rules.may_lend(user, item),
        "approver_service": item.approver_service or item.service,
        "max_duration": (services.duration_label(item.max_duration) if item.max_duration
                         else ""),
    }
    if manages:
        context["feed_url"] = request.build_absolute_uri(
            reverse("booking:resource-feed", args=[item.feed_token]))
    if item.kind == Resource.Kind.EQUIPMENT:
        loans = list(queries.loan_history(user, item).select_related(
            "checked_out_by", "checked_in_by")[:100])
        context.update(loans=loans, open_loan=next((loan for loan in loans
                                                    if loan.returned_at is None), None),
                       today=_today(request))
    if context["may_edit"] and not item.is_active:
        context["upcoming_count"] = item.reservations.filter(
            end__gte=now, state__in=Reservation.ACTIVE_STATES).count()
    return _page(request, "booking/resource.html", context)


@agent_required
@require_POST
def resource_feed_reset(request, pk):
    item = _visible_resource(request, pk)
    services.reset_resource_feed(actor=request.user, resource=item)
    messages.success(request, _("Nouvelle adresse d'agenda créée : l'ancienne ne fonctionne "
                                "plus. Mettez-la à jour dans vos applications d'agenda."))
    return redirect("booking:resource", pk=item.pk)


def _resource_forms(request, item: Resource | None):
    organisation = request.organisation
    services_ = queries.services_for_resources(request.user, organisation)
    if item is not None:  # keep the current service even for who cannot move it
        services_ = services_ | queries.organisation_services(
            request.user, organisation).filter(pk=item.service_id)
    all_services = queries.organisation_services(request.user, organisation)
    initial = ResourceForm.initial_of(item) if item else None
    rights_initial = ([{"service": right.service, "role": right.role}
                       for right in item.rights.all()] if item else None)
    data = request.POST if request.method == "POST" else None
    form = ResourceForm(data, services=services_.distinct(), all_services=all_services,
                        initial=initial)
    formset = RightFormSet(data, prefix="droits", initial=rights_initial,
                           form_kwargs={"all_services": all_services})
    return form, formset


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def resource_form(request, pk=None):
    """Create a resource, or edit one's description, rules and "may book" lines."""
    item = _visible_resource(request, pk) if pk else None
    if item is not None and not services.may_edit_resource(request.user, item):
        raise PermissionDenied
    if item is None and not queries.services_for_resources(request.user,
                                                           request.organisation).exists():
        raise PermissionDenied
    form, formset = _resource_forms(request, item)
    if request.method == "POST":
        form_ok, formset_ok = form.is_valid(), formset.is_valid()
        if form_ok and formset_ok:
            data = form.cleaned_data
            try:
                if item is None:
                    item = services.create_resource(
                        actor=request.user, service=data["service"], kind=data["kind"],
                        name=data["name"], rights=rights_of(formset), request=request,
                        **form.values())
                    messages.success(request, _("La ressource est créée."))
                else:
                    services.update_resource(
                        actor=request.user, resource=item, rights=rights_of(formset),
                        request=request, kind=data["kind"], name=data["name"],
                        service=data["service"], **form.values())
                    messages.success(request, _("La ressource est modifiée."))
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                return redirect("booking:resource", pk=item.pk)
    return _page(request, "booking/resource_form.html",
                 {"form": form, "formset": formset, "resource": item})


@agent_required
@require_POST
def resource_active(request, pk):
    item = _visible_resource(request, pk)
    active = request.POST.get("active") == "1"
    services.set_resource_active(actor=request.user, resource=item, active=active,
                                 request=request)
    messages.success(request, _("La ressource est de nouveau réservable.") if active
                     else _("La ressource n'est plus réservable."))
    return redirect("booking:resource", pk=item.pk)


# --- Reservations ---------------------------------------------------------------------------


def _report(result: services.SeriesResult, organisation) -> list[dict]:
    rows = []
    for clash in result.conflicts:
        holder = clash.reservation.booker if clash.reservation else None
        rows.append({
            "start": services.local(clash.start, organisation),
            "end": services.local(clash.end, organisation),
            "holder": (holder.get_full_name() or holder.email) if holder else "",
            "held": (services.local(clash.reservation.start, organisation),
                     services.local(clash.reservation.end, organisation))
            if clash.reservation else None,
            "reason": clash.reason})
    return rows


def _booked_message(request, result: services.SeriesResult) -> None:
    booked, skipped = len(result.reservations), len(result.conflicts)
    text = ngettext("%(count)d occurrence réservée.", "%(count)d occurrences réservées.",
                    booked) % {"count": booked}
    if skipped:
        text += " " + ngettext("%(count)d occurrence n'est pas réservée (créneau pris).",
                               "%(count)d occurrences ne sont pas réservées (créneaux pris).",
                               skipped) % {"count": skipped}
    if result.reservations and result.reservations[0].state == Reservation.State.REQUESTED:
        text += " " + _("Elles attendent la validation du service.")
    messages.success(request, text)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def reserve(request, pk):
    """Book a resource once or on a recurrence. A series with taken occurrences first shows
    the conflict report: book the free ones only, or change the request (decision 0488)."""
    item = _visible_resource(request, pk)
    if not rules.may_book(request.user, item):
        raise PermissionDenied
    organisation = request.organisation
    if request.method == "POST":
        form = ReservationForm(request.POST, organisation=organisation)
    else:
        form = ReservationForm(initial={name: request.GET[name] for name in ("day", "start", "end")
                                        if request.GET.get(name)}, organisation=organisation)
    report = preview = None
    if request.method == "POST" and form.is_valid():
        start, end = form.range()
        title = form.cleaned_data["title"]
        try:
            if not form.recurring:
                reservation = services.reserve(actor=request.user, resource=item, start=start,
                                               end=end, title=title, request=request)
                messages.success(request, _("Réservation enregistrée.") if reservation.state
                                 == Reservation.State.CONFIRMED else
                                 _("Demande envoyée : elle attend la validation du service."))
                return redirect("booking:mine")
            rule = form.rule()
            confirmed = request.POST.get("confirm") == "1"
            if not confirmed:
                preview = services.preview_series(actor=request.user, resource=item,
                                                  start=start, end=end, rrule=rule, title=title)
            if confirmed or not preview.conflicts:
                result = services.reserve_series(actor=request.user, resource=item,
                                                 start=start, end=end, rrule=rule, title=title,
                                                 request=request)
                if result.series is not None:
                    _booked_message(request, result)
                    return redirect("booking:mine")
                preview = result
            report = _report(preview, organisation)
        except services.Conflict as exc:
            form.add_error(None, exc.messages)
        except ValidationError as exc:
            _form_errors(form, exc, field_for=form.error_field)
    return _page(request, "booking/reserve.html", {
        "resource": item, "form": form, "report": report,
        "free_count": len(preview.reservations) if preview else 0,
        "total_count": (len(preview.reservations) + len(preview.conflicts)) if preview else 0})


@agent_required
@require_GET
def mine(request):
    """The agent's reservations to come and past, and their personal feed."""
    now = timezone.now()
    reservations = queries.my_reservations(request.user, request.organisation)
    upcoming = list(reservations.filter(end__gte=now).order_by("start")[:200])
    past = list(reservations.filter(end__lt=now).order_by("-start")[:50])
    token = services.feed_token_for(actor=request.user, organisation=request.organisation)
    return _page(request, "booking/mine.html", {
        "upcoming": upcoming, "past": past, "active_states": Reservation.ACTIVE_STATES,
        "feed_url": request.build_absolute_uri(reverse("booking:user-feed",
                                                       args=[token.token]))})


@agent_required
@require_POST
def feed_reset(request):
    services.feed_token_for(actor=request.user, organisation=request.organisation, reset=True)
    messages.success(request, _("Nouvelle adresse d'agenda créée : l'ancienne ne fonctionne "
                                "plus. Mettez-la à jour dans votre application d'agenda."))
    return redirect("booking:mine")


@agent_required
@require_POST
def cancel(request, pk):
    """Cancel one occurrence, or the series from this occurrence on."""
    reservation = queries.reservation_visible_to(request.user, request.organisation, pk)
    if reservation is None:
        raise Http404
    whole = request.POST.get("scope") == "series"
    try:
        cancelled = services.cancel(actor=request.user, reservation=reservation,
                                    whole_series=whole, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ngettext("%(count)d réservation annulée.",
                                           "%(count)d réservations annulées.",
                                           len(cancelled)) % {"count": len(cancelled)})
    target = request.POST.get("next")
    if target == "resource":
        return redirect("booking:resource", pk=reservation.resource_id)
    return redirect("booking:mine")


# --- Approvals ------------------------------------------------------------------------------


@agent_required
@require_GET
def approvals(request):
    """The requests the agent decides, a series shown once with its number of occurrences."""
    pending = list(queries.requests_to_decide(request.user, request.organisation)
                   .select_related("series")[:500])
    rows, seen = [], {}
    for reservation in sorted(pending, key=lambda r: r.start):
        if reservation.series_id and reservation.series_id in seen:
            seen[reservation.series_id]["count"] += 1
            continue
        row = {"reservation": reservation, "count": 1}
        rows.append(row)
        if reservation.series_id:
            seen[reservation.series_id] = row
    return _page(request, "booking/approvals.html", {"rows": rows})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def decide(request, pk):
    reservation = queries.request_to_decide(request.user, request.organisation, pk)
    if reservation is None:
        raise Http404
    action = request.POST.get("action")
    form = RefuseForm(request.POST if action == "refuse" else None)
    if request.method == "POST":
        whole = request.POST.get("whole_series") == "on"
        try:
            if action == "approve":
                decided = services.approve(actor=request.user, reservation=reservation,
                                           whole_series=whole, request=request)
                messages.success(request, ngettext(
                    "%(count)d réservation acceptée.", "%(count)d réservations acceptées.",
                    len(decided)) % {"count": len(decided)})
                return redirect("booking:approvals")
            if action == "refuse" and form.is_valid():
                decided = services.refuse(actor=request.user, reservation=reservation,
                                          reason=form.cleaned_data["reason"],
                                          whole_series=form.cleaned_data["whole_series"],
                                          request=request)
                messages.success(request, ngettext(
                    "%(count)d réservation refusée.", "%(count)d réservations refusées.",
                    len(decided)) % {"count": len(decided)})
                return redirect("booking:approvals")
        except ValidationError as exc:
            _form_errors(form, exc)
    pending_in_series = (reservation.series.reservations.filter(
        state=Reservation.State.REQUESTED).count() if reservation.series_id else 1)
    return _page(request, "booking/decide.html", {
        "reservation": reservation, "form": form, "pending_in_series": pending_in_series})


# --- Loans ----------------------------------------------------------------------------------


@agent_required
@require_GET
def loans(request):
    """The equipment items and their state, the overdue loans on top."""
    today = _today(request)
    items = list(queries.equipment_visible_to(request.user, request.organisation)[:300])
    for item in items:
        item.loan = item.open_loans[0] if item.open_loans else None
        item.overdue = bool(item.loan and item.loan.due_on < today)
        item.may_lend = rules.may_lend(request.user, item)
    overdue = list(queries.overdue_loans(request.user, request.organisation, today)[:100])
    return _page(request, "booking/loans.html", {"items": items, "overdue": overdue,
                                                 "today": today})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def check_out(request, pk):
    item = _visible_resource(request, pk)
    if item.kind != Resource.Kind.EQUIPMENT:
        raise Http404
    if not rules.may_lend(request.user, item):
        raise PermissionDenied
    form = CheckOutForm(request.POST or None, borrowers=queries.borrowers_for(request.user,
                                                                               item))
    if request.method == "POST" and form.is_valid():
        try:
            services.check_out(actor=request.user, resource=item,
                               borrower=form.cleaned_data["borrower"],
                               due_on=form.cleaned_data["due_on"],
                               condition_out=form.cleaned_data["condition_out"],
                               request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Le prêt est enregistré ; l'emprunteur est prévenu."))
            return redirect("booking:loans")
    return _page(request, "booking/check_out.html", {"resource": item, "form": form})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def check_in(request, pk):
    loan = queries.loan_visible_to(request.user, request.organisation, pk)
    if loan is None:
        raise Http404
    if not rules.may_lend(request.user, loan.resource):
        raise PermissionDenied
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.check_in(actor=request.user, loan=loan,
                              condition_in=form.cleaned_data["condition_in"], request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Le retour est enregistré."))
            return redirect("booking:loans")
    return _page(request, "booking/check_in.html", {"loan": loan, "form": form,
                                                    "today": _today(request)})


# --- Feeds ----------------------------------------------------------------------------------


def _calendar_response(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def resource_feed(request, token):
    resource = queries.feed_resource(token)
    if resource is None or resource.organisation_id != request.organisation.pk:
        raise Http404
    return _calendar_response(feeds.resource_feed(resource))


@require_GET
def user_feed(request, token):
    owner = queries.feed_owner(token)
    if owner is None or owner.organisation_id != request.organisation.pk:
        raise Http404
    return _calendar_response(feeds.user_feed(owner.user, owner.organisation))
