"""The service mail in the agent workspace (`/agent/courriels/…`): the queue of mails to
attach, one mail with its conversation (attach it, create the record, answer it), and the
administrators' page of service addresses. Thin views: reads in `queries.py`, writes in
`services_mail.py`, permissions in `rules.py` (decision 0467)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mairie.core.organisation.models import Service
from mairie.core.web.views import agent_required

from . import queries, rules, services_mail
from .forms import SearchForm
from .forms_mail import AttachForm, MailboxForm, RecordFromMailForm, ReplyForm
from .models_mail import MailMessage
from .views import _form_errors

PAGE_SIZE = 50


@agent_required
@require_GET
def mail_queue(request):
    listed = queries.unmatched_mail_for(request.user, request.organisation)
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "crm/mail/queue.html", {
        "page_obj": page,
        "manages_mailboxes": rules.manages_mailboxes(request.user, request.organisation)})


def _split_name(name: str) -> dict:
    *first, last = (name or "").split() or [""]
    return {"first_name": " ".join(first), "last_name": last}


def _message_page(request, message: MailMessage, *, reply_form=None, record_form=None,
                  attach_errors=(), status=200):
    user, organisation = request.user, request.organisation
    services_mail.mail_viewed(actor=user, message=message, request=request)
    search = SearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    candidates = []
    if not message.record_id:
        if query:
            candidates = queries.search_records(user, organisation, query)
        elif message.sender_address:
            candidates = list(queries.records_for_agent(user, organisation).filter(
                pk__in=services_mail.records_with_address(organisation, message.sender_address)
                .values("pk"))[:queries.SEARCH_LIMIT])
    return render(request, "crm/mail/message.html", {
        "message": message,
        "conversation": queries.mail_conversation(user, organisation, message),
        "search_form": search, "query": query, "candidates": candidates,
        "attach_form": AttachForm(), "attach_errors": attach_errors,
        "record_form": record_form or RecordFromMailForm(initial={
            **_split_name(message.sender_name), "email": message.sender_address}),
        "reply_form": reply_form or ReplyForm(),
        "may_reply": message.direction == MailMessage.Direction.INBOUND
        and bool(message.sender_address),
    }, status=status)


@agent_required
@require_GET
def mail_message(request, pk):
    message = queries.mail_message_for(request.user, request.organisation, pk)
    return _message_page(request, message)


@agent_required
@require_POST
def mail_attach(request, pk):
    message = queries.mail_message_for(request.user, request.organisation, pk)
    form = AttachForm(request.POST)
    if not form.is_valid():
        return _message_page(request, message, attach_errors=[_("Choisissez une fiche.")])
    record = queries.record_for_agent(request.user, request.organisation,
                                      form.cleaned_data["record"])
    try:
        services_mail.attach_mail(actor=request.user, message=message, record=record,
                                  remember_address=form.cleaned_data["remember_address"],
                                  request=request)
    except ValidationError as exc:
        return _message_page(request, message, attach_errors=exc.messages)
    messages.success(request, _("Le courriel est rattaché à la fiche de %(name)s.")
                     % {"name": record.full_name})
    return redirect("crm:mail-message", pk=message.pk)


@agent_required
@require_POST
def mail_new_record(request, pk):
    message = queries.mail_message_for(request.user, request.organisation, pk)
    form = RecordFromMailForm(request.POST)
    if form.is_valid():
        try:
            record = services_mail.create_record_from_mail(
                actor=request.user, message=message, values=form.values(), request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("La fiche de %(name)s est créée et le courriel y est "
                                        "rattaché.") % {"name": record.full_name})
            return redirect("crm:mail-message", pk=message.pk)
    return _message_page(request, message, record_form=form)


@agent_required
@require_POST
def mail_reply(request, pk):
    message = queries.mail_message_for(request.user, request.organisation, pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services_mail.reply_to_mail(actor=request.user, message=message,
                                        body=form.cleaned_data["body"], request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Votre réponse est partie à %(address)s.")
                             % {"address": message.sender_address})
            return redirect("crm:mail-message", pk=message.pk)
    return _message_page(request, message, reply_form=form)


# --- Service addresses (administrators) -------------------------------------------------------

def _require_mailbox_admin(request):
    if not rules.manages_mailboxes(request.user, request.organisation):
        raise PermissionDenied


def _org_services(request):
    return Service.objects.filter(organisation=request.organisation)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def mailboxes(request):
    _require_mailbox_admin(request)
    form = MailboxForm(request.POST or None, services=_org_services(request),
                       initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            mailbox = services_mail.save_mailbox(actor=request.user,
                                                 organisation=request.organisation,
                                                 values=form.values(), request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("L'adresse %(address)s est enregistrée.")
                             % {"address": mailbox.address})
            return redirect("crm:mailboxes")
    return render(request, "crm/mail/mailboxes.html", {
        "mailboxes": queries.mailboxes_for_admin(request.user, request.organisation),
        "form": form})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def mailbox(request, pk):
    _require_mailbox_admin(request)
    current = queries.mailbox_for_admin(request.user, request.organisation, pk)
    form = MailboxForm(request.POST or None, instance=current, services=_org_services(request))
    if request.method == "POST" and form.is_valid():
        try:
            services_mail.save_mailbox(actor=request.user, organisation=request.organisation,
                                       mailbox=current, values=form.values(), request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("L'adresse %(address)s est modifiée.")
                             % {"address": current.address})
            return redirect("crm:mailboxes")
    return render(request, "crm/mail/mailbox.html", {"mailbox": current, "form": form})
