"""The booking pages of the agent workspace (`/agent/reservations/`) and the secret iCalendar
feeds. Thin views: reads in `queries.py`, writes in `services.py`."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from mairie.core.web.views import agent_required

from . import feeds, queries, services
from .forms import FreeSearchForm


@agent_required
@require_GET
def resources(request):
    """The resources the agent sees, and those free over a time range."""
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
    mine = list(queries.reservations_visible_to(request.user, organisation)
                .filter(booker=request.user, end__gte=timezone.now(),
                        state__in=services.Reservation.ACTIVE_STATES)[:50])
    token = services.feed_token_for(actor=request.user, organisation=organisation)
    feed_url = request.build_absolute_uri(reverse("booking:user-feed", args=[token.token]))
    return render(request, "booking/resources.html", {
        "form": form, "free": free, "resources": visible, "mine": mine, "feed_url": feed_url})


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
