"""The webhooks page of a procedure (`/agent/demarches/<slug>/webhooks/`): configure the
endpoints, read the delivery log, send a test ping, re-send a delivery.

For those who design the procedure (`rules.may_design`); anyone else gets a 404, like the
builder's pages. Every write goes through `webhooks.py` (audited).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mairie.core.web.views import agent_required

from . import queries, webhooks
from .forms_webhooks import WebhookEndpointForm
from .models import ProcedureDefinition, WebhookDelivery, WebhookEndpoint

DELIVERIES_PER_PAGE = 25


def _definition(request, slug) -> ProcedureDefinition:
    try:
        return (queries.procedures_for_designer(request.user, request.organisation)
                .get(slug=slug))
    except ProcedureDefinition.DoesNotExist:
        raise Http404 from None


def _draft(definition):
    """The builder's unpublished version, for the builder's tabs (`_tabs.html`)."""
    return (definition.versions.filter(published_at__isnull=True).order_by("-number")
            .only("number").first())


def _report(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _page(request, definition, *, new_form=None, edited=None, error=False):
    endpoints = list(webhooks.endpoints_of(definition))
    for endpoint in endpoints:
        endpoint.form = (  # type: ignore[attr-defined]
            edited[1] if edited and edited[0] == endpoint.pk
            else WebhookEndpointForm(prefix=f"e-{endpoint.pk}", initial={
                "url": endpoint.url, "events": endpoint.events,
                "description": endpoint.description, "active": endpoint.active}))
    deliveries = Paginator(webhooks.deliveries_of(definition), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page"))
    return render(request, "procedures/webhooks/page.html", {
        "definition": definition, "endpoints": endpoints, "draft": _draft(definition),
        "new_form": new_form or WebhookEndpointForm(prefix="new"), "page_obj": deliveries,
        "max_failures": webhooks.max_failures(),
        "status_error": error,
    })


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhooks_page(request, slug):
    definition = _definition(request, slug)
    if request.method != "POST":
        return _page(request, definition)
    form = WebhookEndpointForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            webhooks.save_endpoint(actor=request.user, definition=definition,
                                   request=request, **form.cleaned_data)
        except ValidationError as exc:
            _report(form, exc)
        else:
            messages.success(request, _("Webhook ajouté. Envoyez un test pour vérifier que "
                                        "le serveur le reçoit."))
            return redirect("procedures:webhooks", slug=slug)
    return _page(request, definition, new_form=form, error=True)


@agent_required
@require_POST
def endpoint_action(request, slug, pk):
    definition = _definition(request, slug)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk, definition=definition,
                                 organisation=request.organisation)
    action = request.POST.get("action")
    if action == "ping":
        webhooks.send_ping(actor=request.user, endpoint=endpoint, request=request)
        messages.success(request, _("Test envoyé : son résultat est dans le journal des "
                                    "envois ci-dessous."))
    elif action == "delete":
        webhooks.delete_endpoint(actor=request.user, endpoint=endpoint, request=request)
        messages.success(request, _("Webhook supprimé."))
    else:
        form = WebhookEndpointForm(request.POST, prefix=f"e-{endpoint.pk}")
        if not form.is_valid():
            return _page(request, definition, edited=(endpoint.pk, form), error=True)
        try:
            webhooks.save_endpoint(actor=request.user, definition=definition,
                                   endpoint=endpoint, request=request, **form.cleaned_data)
        except ValidationError as exc:
            _report(form, exc)
            return _page(request, definition, edited=(endpoint.pk, form), error=True)
        messages.success(request, _("Webhook enregistré."))
    return redirect("procedures:webhooks", slug=slug)


def _delivery(request, definition, pk) -> WebhookDelivery:
    return get_object_or_404(webhooks.deliveries_of(definition), pk=pk)


@agent_required
@require_safe
def delivery_detail(request, slug, pk):
    definition = _definition(request, slug)
    delivery = _delivery(request, definition, pk)
    return render(request, "procedures/webhooks/delivery.html", {
        "definition": definition, "delivery": delivery,
        "body": json.dumps(json.loads(webhooks.body_of(delivery)), ensure_ascii=False,
                           indent=2)})


@agent_required
@require_POST
def delivery_resend(request, slug, pk):
    definition = _definition(request, slug)
    delivery = _delivery(request, definition, pk)
    webhooks.resend(actor=request.user, delivery=delivery, request=request)
    messages.success(request, _("Envoi renouvelé : le nouvel envoi est en tête du journal."))
    return redirect("procedures:webhooks", slug=slug)


urlpatterns = [  # mounted at agent/demarches/<slug:slug>/webhooks/ by urls.py
    path("", webhooks_page, name="webhooks"),
    path("<uuid:pk>/", endpoint_action, name="webhook-endpoint"),
    path("envois/<uuid:pk>/", delivery_detail, name="webhook-delivery"),
    path("envois/<uuid:pk>/renvoyer/", delivery_resend, name="webhook-resend"),
]
