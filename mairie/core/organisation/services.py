"""Every write to the organisation chart: services and memberships.

Each function checks that `actor` administers the organisation, runs in a transaction, records an
audit event whose details carry the state before and after, and tells the agent concerned.
Business-rule refusals raise `ValidationError` with a message meant for the administrator;
permission refusals raise `PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from mairie.core.audit.services import record_event
from mairie.core.notifications.services import notify

from .models import Membership, Role, Service
from .queries import descendants_of, forget_roles, is_org_administrator

SERVICE_FIELDS = ("name", "slug", "parent", "description", "email")


def _require_administrator(actor, organisation) -> None:
    if not is_org_administrator(actor, organisation):
        raise PermissionDenied(_("Seuls les administrateurs de la collectivité gèrent "
                                 "l'organigramme."))


def _service_state(service: Service) -> dict[str, Any]:
    return {
        "name": service.name,
        "slug": service.slug,
        "parent": str(service.parent_id) if service.parent_id else None,
        "description": service.description,
        "email": service.email,
    }


def _membership_state(membership: Membership) -> dict[str, Any]:
    return {
        "user": str(membership.user_id),
        "email": membership.user.email,
        "service": str(membership.service_id),
        "service_name": membership.service.name,
        "role": membership.role,
    }


def _check_parent(service: Service, parent: Service | None) -> None:
    """The parent must belong to the same organisation and must not make the tree loop."""
    if parent is None:
        return
    if parent.organisation_id != service.organisation_id:
        raise ValidationError({"parent": _("Le service parent doit appartenir à la même "
                                           "collectivité.")})
    if service.pk is not None and (parent.pk == service.pk
                                   or parent.pk in descendants_of(service)):
        raise ValidationError({"parent": _("Un service ne peut pas être rangé sous lui-même "
                                           "ni sous l'un de ses sous-services.")})


def _check_slug(service: Service) -> None:
    taken = (Service.objects.filter(organisation_id=service.organisation_id, slug=service.slug)
             .exclude(pk=service.pk).exists())
    if taken:
        raise ValidationError({"slug": _("Un autre service de la collectivité utilise déjà "
                                         "cet identifiant.")})


def _notify(*, actor, recipient, organisation, title: str, url: str = "") -> None:
    """Tell the agent whose place in the chart changed (in-app, and e-mail per preferences)."""
    notify(organisation=organisation, recipients=[recipient], kind="organisation.role_changed",
           title=title, url=url, actor=actor)


@transaction.atomic
def create_service(*, actor, organisation, name: str, slug: str = "",
                   parent: Service | None = None, description: str = "", email: str = "",
                   request: HttpRequest | None = None) -> Service:
    _require_administrator(actor, organisation)
    service = Service(organisation=organisation, name=name.strip(),
                      slug=slug or slugify(name)[:50], parent=parent,
                      description=description, email=email)
    _check_parent(service, parent)
    _check_slug(service)
    service.full_clean(exclude=["organisation", "parent"])
    service.save()
    record_event(organisation=organisation, action="organisation.service_created", actor=actor,
                 obj=service, details={"after": _service_state(service)}, request=request)
    return service


@transaction.atomic
def update_service(*, actor, service: Service, changes: dict[str, Any],
                   request: HttpRequest | None = None) -> Service:
    """Apply `changes` (a subset of name, slug, parent, description, email) to `service`."""
    _require_administrator(actor, service.organisation)
    unknown = set(changes) - set(SERVICE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    service = Service.objects.select_for_update().get(pk=service.pk,
                                                      organisation=service.organisation)
    before = _service_state(service)
    for name, value in changes.items():
        setattr(service, name, value)
    if not service.slug:
        service.slug = slugify(service.name)[:50]
    _check_parent(service, service.parent)
    _check_slug(service)
    service.full_clean(exclude=["organisation", "parent"])
    after = _service_state(service)
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return service
    service.save()
    record_event(organisation=service.organisation, action="organisation.service_updated",
                 actor=actor, obj=service,
                 details={"changed": changed,
                          "before": {k: before[k] for k in changed},
                          "after": {k: after[k] for k in changed}},
                 request=request)
    return service


@transaction.atomic
def delete_service(*, actor, service: Service, request: HttpRequest | None = None) -> None:
    """Delete an empty service. One that still has members or sub-services is refused, so that
    nobody loses their role by accident: move or remove them first."""
    _require_administrator(actor, service.organisation)
    service = Service.objects.select_for_update().get(pk=service.pk,
                                                      organisation=service.organisation)
    members = service.memberships.count()
    children = service.children.count()
    if members or children:
        parts = []
        if members:
            parts.append(ngettext("%(n)d affectation", "%(n)d affectations", members)
                         % {"n": members})
        if children:
            parts.append(ngettext("%(n)d sous-service", "%(n)d sous-services", children)
                         % {"n": children})
        raise ValidationError(
            _("Impossible de supprimer « %(name)s » : il contient encore %(what)s. Retirez les "
              "agents et déplacez ou supprimez les sous-services d'abord.")
            % {"name": service.name, "what": _(" et ").join(parts)})
    state = _service_state(service)
    label = str(service)
    pk = service.pk
    try:
        with transaction.atomic():
            service.delete()
    except (ProtectedError, IntegrityError) as exc:
        raise ValidationError(
            _("Impossible de supprimer « %(name)s » : d'autres éléments (démarches, "
              "ressources…) y sont encore rattachés.") % {"name": label}) from exc
    record_event(organisation=service.organisation, action="organisation.service_deleted",
                 actor=actor, object_type="organisation.service", object_id=str(pk),
                 object_label=label, details={"before": state}, request=request)


def _invite(*, user, organisation, actor, request: HttpRequest | None) -> None:
    """E-mail a new agent a link to choose their password (allauth's password-reset key)."""
    from allauth.account import app_settings as account_settings
    from allauth.account.utils import user_pk_to_url_str

    token = account_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(user)
    path = reverse("account_reset_password_from_key",
                   kwargs={"uidb36": user_pk_to_url_str(user), "key": token})
    if request is not None:
        url = request.build_absolute_uri(path)
    else:
        host = organisation.hosts.values_list("host", flat=True).first() or "localhost"
        url = f"https://{host}{path}"
    context = {"user": user, "organisation": organisation, "actor": actor, "url": url}
    with override(user.language or "fr"):
        subject = render_to_string("organisation/email/invitation_subject.txt", context).strip()
        body = render_to_string("organisation/email/invitation_message.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))


@transaction.atomic
def add_member(*, actor, organisation, service: Service, email: str, role: str = Role.AGENT,
               first_name: str = "", last_name: str = "",
               request: HttpRequest | None = None) -> tuple[Membership, bool]:
    """Give the holder of `email` the role `role` in `service`.

    An unknown address gets a new agent account of the organisation and an invitation e-mail to
    choose a password. Returns the membership and whether an account was created.
    """
    _require_administrator(actor, organisation)
    if service.organisation_id != organisation.pk:
        raise PermissionDenied
    if role not in Role.values:
        raise ValidationError({"role": _("Rôle inconnu.")})
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    invited = False
    if user is None:
        user = User.objects.create_user(email=email, password=None, organisation=organisation,
                                        first_name=first_name.strip(),
                                        last_name=last_name.strip())
        from allauth.account.models import EmailAddress

        # The only way into the account is the link sent to this address, so reaching it
        # proves the address: no separate confirmation e-mail.
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        invited = True
    elif user.organisation_id != organisation.pk or not user.is_active:
        # Addresses are unique on the instance; never say more about another organisation.
        raise ValidationError({"email": _("Cette adresse ne peut pas être utilisée pour un "
                                          "agent de votre collectivité.")})
    if Membership.objects.filter(user=user, service=service, role=role).exists():
        raise ValidationError({"role": _("%(who)s a déjà ce rôle dans ce service.")
                               % {"who": user}})
    membership = Membership.objects.create(organisation=organisation, user=user,
                                           service=service, role=role)
    forget_roles(user)
    record_event(organisation=organisation, action="organisation.member_added", actor=actor,
                 obj=membership,
                 details={"after": _membership_state(membership), "invited": invited},
                 request=request)
    if invited:
        # The invitation says it all; a second e-mail would only confuse.
        _invite(user=user, organisation=organisation, actor=actor, request=request)
        return membership, invited
    _notify(actor=actor, recipient=user, organisation=organisation,
            title=_("Vous avez désormais le rôle « %(role)s » dans le service « %(service)s ».")
            % {"role": membership.get_role_display(), "service": service.name},
            url=reverse("web:agent-home"))
    return membership, invited


def _refuse_last_administrator(membership: Membership) -> None:
    """Never leave an organisation without an administrator (nobody could fix it after)."""
    if membership.role != Role.ADMINISTRATOR:
        return
    others = (Membership.objects.filter(organisation_id=membership.organisation_id,
                                        role=Role.ADMINISTRATOR, user__is_active=True)
              .exclude(user_id=membership.user_id).exists())
    still_admin_elsewhere = (Membership.objects.filter(user_id=membership.user_id,
                                                       organisation_id=membership.organisation_id,
                                                       role=Role.ADMINISTRATOR)
                             .exclude(pk=membership.pk).exists())
    if not others and not still_admin_elsewhere:
        raise ValidationError(_("C'est le dernier rôle d'administrateur de la collectivité : "
                                "nommez d'abord un autre administrateur."))


@transaction.atomic
def change_role(*, actor, membership: Membership, role: str,
                request: HttpRequest | None = None) -> Membership:
    organisation = membership.organisation
    _require_administrator(actor, organisation)
    if role not in Role.values:
        raise ValidationError({"role": _("Rôle inconnu.")})
    membership = (Membership.objects.select_for_update().select_related("user", "service")
                  .get(pk=membership.pk, organisation=organisation))
    if membership.role == role:
        return membership
    if Membership.objects.filter(user_id=membership.user_id, service_id=membership.service_id,
                                 role=role).exists():
        raise ValidationError({"role": _("%(who)s a déjà ce rôle dans ce service.")
                               % {"who": membership.user}})
    _refuse_last_administrator(membership)
    before = _membership_state(membership)
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    forget_roles(membership.user)
    record_event(organisation=organisation, action="organisation.role_changed", actor=actor,
                 obj=membership,
                 details={"before": before, "after": _membership_state(membership)},
                 request=request)
    _notify(actor=actor, recipient=membership.user, organisation=organisation,
            title=_("Votre rôle dans le service « %(service)s » est désormais « %(role)s ».")
            % {"service": membership.service.name, "role": membership.get_role_display()},
            url=reverse("web:agent-home"))
    return membership


@transaction.atomic
def remove_member(*, actor, membership: Membership, request: HttpRequest | None = None) -> None:
    organisation = membership.organisation
    _require_administrator(actor, organisation)
    membership = (Membership.objects.select_for_update().select_related("user", "service")
                  .get(pk=membership.pk, organisation=organisation))
    _refuse_last_administrator(membership)
    before = _membership_state(membership)
    label, pk, user = str(membership), membership.pk, membership.user
    membership.delete()
    forget_roles(user)
    record_event(organisation=organisation, action="organisation.member_removed", actor=actor,
                 object_type="organisation.membership", object_id=str(pk), object_label=label,
                 details={"before": before}, request=request)
    _notify(actor=actor, recipient=user, organisation=organisation,
            title=_("Vous n'avez plus le rôle « %(role)s » dans le service « %(service)s ».")
            % {"role": Role(before["role"]).label, "service": before["service_name"]})
