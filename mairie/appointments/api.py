"""REST endpoints of the appointments (issue 6): the bookable types and their free slots
(public, like the residents' pages), booking a slot (a resident with their account, or an
agent's tool acting for a resident), the resident's own appointments, and for agents the
appointments of a day at the counters they read.

Same reads and writes as the pages: every list and fetch goes through `queries`, every write
through `services.book_appointment` / `cancel_appointment`, which check the rules and audit.
A slot taken first by someone else answers 409 `slot_taken` with the next free slots
(decision 0491)."""

from __future__ import annotations

import contextlib
import datetime
import zoneinfo

import phonenumbers
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from mairie.api.api import error_responses
from mairie.api.permissions import (
    IsAgentOfOrganisation,
    TokenScopePermission,
    request_grants,
    token_of,
)
from mairie.api.rules import agent_lacks_second_factor
from mairie.api.scopes import register_scope
from mairie.core.audit.services import record_event

from . import queries, rules, services
from .models import Appointment, AppointmentType, Counter, Slot

SCOPE = "appointments"


def register_scopes() -> None:
    register_scope(f"{SCOPE}:read", gettext_lazy("Rendez-vous : lecture"),
                   gettext_lazy("Lire les types de rendez-vous, les créneaux libres, vos "
                                "rendez-vous et, pour un agent, ceux de ses lieux d'accueil."))
    register_scope(f"{SCOPE}:write", gettext_lazy("Rendez-vous : écriture"),
                   gettext_lazy("Réserver et annuler un rendez-vous (pour vous, ou pour un "
                                "usager si vous êtes agent). Inclut la lecture."))


class OrganisationTimeMixin:
    """Dates read and written in the organisation's time zone (a naive `2026-03-02T09:00`
    is Valmont's 9 o'clock; answers carry the local offset)."""

    def dispatch(self, request, *args, **kwargs):
        organisation = getattr(request, "organisation", None)
        zone = zoneinfo.ZoneInfo(organisation.time_zone) if organisation else None
        with timezone.override(zone) if zone else contextlib.nullcontext():
            return super().dispatch(request, *args, **kwargs)


def _organisation(request):
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        raise Http404
    return organisation


# --- Serializers ---------------------------------------------------------------------------


class CounterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Counter
        fields = ["id", "name", "address"]


class AppointmentTypeSerializer(serializers.ModelSerializer):
    counters = CounterSerializer(many=True, source="active_counters")

    class Meta:
        model = AppointmentType
        fields = ["id", "name", "description", "duration_minutes", "capacity", "counters",
                  "min_notice_hours", "max_days_ahead", "max_future_per_person"]


class FreeSlotSerializer(serializers.ModelSerializer):
    counter = CounterSerializer()
    free_seats = serializers.IntegerField()

    class Meta:
        model = Slot
        fields = ["id", "start", "end", "counter", "capacity", "free_seats"]


class TypeRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AppointmentSerializer(serializers.ModelSerializer):
    appointment_type = TypeRefSerializer()
    counter = CounterSerializer(source="slot.counter")
    end = serializers.DateTimeField(source="slot.end")
    status_label = serializers.CharField(source="get_status_display")
    attendance_label = serializers.CharField(source="get_attendance_display")

    class Meta:
        model = Appointment
        fields = ["id", "appointment_type", "starts_at", "end", "counter", "seat", "status",
                  "status_label", "name", "email", "phone", "channel", "attendance",
                  "attendance_label", "cancelled_at", "created_at"]


class DeskAppointmentSerializer(AppointmentSerializer):
    agent = serializers.SerializerMethodField()
    dossier = serializers.SerializerMethodField()
    with_account = serializers.SerializerMethodField()

    class Meta(AppointmentSerializer.Meta):
        fields = [*AppointmentSerializer.Meta.fields, "agent", "dossier", "with_account",
                  "agent_note"]

    def get_agent(self, appointment) -> str:
        agent = appointment.slot.agent
        return agent.get_full_name() or agent.email

    def get_dossier(self, appointment) -> str | None:
        dossier = appointment.dossier
        return (dossier.number or str(dossier.pk)) if dossier else None

    def get_with_account(self, appointment) -> bool:
        return appointment.account_id is not None


def _valid_phone(value: str, organisation) -> str:
    value = value.strip()
    if not value:
        return value
    try:
        number = phonenumbers.parse(value, organisation.country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise serializers.ValidationError(_("Ce numéro de téléphone n'est pas valide."))
    return value


class BookingRequestSerializer(serializers.Serializer):
    slot = serializers.UUIDField(help_text="Id d'un créneau libre du type (voir `slots`).")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                 help_text="Nom de l'usager ; par défaut celui du compte.")
    email = serializers.EmailField(required=False, allow_blank=True, default="",
                                   help_text="Courriel de l'usager ; par défaut celui du "
                                   "compte.")
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True,
                                  default="", help_text="Téléphone ; obligatoire pour un "
                                  "usager sans compte.")
    # Values in the help rather than an enum (one enum name per field name in the schema).
    channel = serializers.CharField(
        required=False, default=Appointment.Channel.PHONE,
        help_text="Pour un agent : `phone` (défaut, au téléphone) ou `counter` (à "
        "l'accueil).")

    def validate_phone(self, value):
        return _valid_phone(value, self.context["organisation"])

    def validate_channel(self, value):
        if value not in services.DESK_CHANNELS:
            raise serializers.ValidationError(_("Attendu : phone ou counter."))
        return value

    def validate(self, attrs):
        if self.context["for_resident"]:
            errors = {}
            for name in ("name", "email"):
                if not attrs.get(name, "").strip():
                    errors[name] = [_("Ce champ est obligatoire pour réserver au nom d'un "
                                      "usager.")]
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


class SlotFilterSerializer(serializers.Serializer):
    after = serializers.CharField(required=False, help_text="Date ou date et heure.")
    counter = serializers.UUIDField(required=False)

    def validate_after(self, value):
        parsed = None
        with contextlib.suppress(ValueError):
            parsed = datetime.datetime.fromisoformat(value)
        if parsed is None:
            raise serializers.ValidationError(_(
                "Attendu : une date (2026-03-02) ou une date et une heure "
                "(2026-03-02T14:00)."))
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
        return parsed


class DayFilterSerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="Par défaut aujourd'hui.")


_NEXT_SLOTS = inline_serializer("SlotTaken", {
    "status": serializers.IntegerField(), "code": serializers.CharField(),
    "detail": serializers.CharField(), "next_slots": FreeSlotSerializer(many=True)})


class SlotPagination(CursorPagination):
    """Free slots in time order, page after page, without counting them all (each page is
    one indexed query, whatever the horizon)."""

    ordering = ("start", "pk")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = queries.SEARCH_LIMIT


# --- Types and free slots (public) ---------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Types de rendez-vous",
        description="Les rendez-vous que l'on peut prendre en ligne dans la collectivité de "
        "l'adresse, avec leurs lieux d'accueil. Public, comme la page « Prendre "
        "rendez-vous ».",
        responses={200: AppointmentTypeSerializer(many=True), **error_responses(403, 404)}),
    retrieve=extend_schema(
        summary="Un type de rendez-vous",
        responses={200: AppointmentTypeSerializer, **error_responses(403, 404)}),
)
@extend_schema(tags=["rendez-vous"])
class AppointmentTypeViewSet(OrganisationTimeMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [TokenScopePermission]
    scope_family = SCOPE
    lookup_value_converter = "uuid"
    queryset = AppointmentType.objects.none()
    serializer_class = AppointmentTypeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AppointmentType.objects.none()
        return queries.bookable_types_with_counters(_organisation(self.request))

    @extend_schema(
        summary="Créneaux libres d'un type",
        description="Les prochains créneaux libres, dans l'ordre des heures, à partir de "
        "`after` (par défaut : dès que le délai minimal de réservation le permet), dans la "
        "fenêtre de réservation du type. Pagination par curseur : suivez `next` (20 par "
        "page par défaut, `page_size` jusqu'à 50).",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.STR, description="À partir de cette date "
                             "(`2026-03-02`) ou de ce moment (`2026-03-02T14:00`, heure "
                             "locale de la collectivité si sans décalage)."),
            OpenApiParameter("counter", OpenApiTypes.UUID, description="Un seul lieu "
                             "d'accueil."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1 à 50."),
        ],
        responses={200: FreeSlotSerializer(many=True), **error_responses(400, 403, 404)})
    @action(detail=True, methods=["get"], url_path="slots", pagination_class=SlotPagination,
            serializer_class=FreeSlotSerializer)
    def slots(self, request, pk=None):
        appointment_type = queries.bookable_type(_organisation(request), pk)
        filters = SlotFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        counter = None
        if "counter" in filters.validated_data:
            counter = appointment_type.counters.filter(
                pk=filters.validated_data["counter"]).first()
            if counter is None:
                raise exceptions.ValidationError(
                    {"counter": [_("Ce lieu ne reçoit pas ce type de rendez-vous.")]})
        slots = queries.free_slots(appointment_type, after=filters.validated_data.get("after"),
                                   counter=counter).select_related("counter")
        page = self.paginate_queryset(slots)
        return self.get_paginated_response(FreeSlotSerializer(page, many=True).data)


# --- Booking and one's own appointments ----------------------------------------------------


def _acts_for_resident(request, organisation) -> bool:
    """An agent books for a resident (phone, counter, a tool); anyone else books for
    themself with their account."""
    if not rules.books_for_residents(request.user, organisation):
        return False
    if token_of(request) is None and agent_lacks_second_factor(request.user, organisation):
        raise exceptions.PermissionDenied(
            _("Activez la double authentification de votre compte pour utiliser l'API en "
              "tant qu'agent."), code="second_factor_required")
    return True


def slot_taken_body(exc: services.SlotTaken) -> dict:
    return {"status": status.HTTP_409_CONFLICT, "code": "slot_taken", "detail": exc.message,
            "next_slots": FreeSlotSerializer(exc.next_slots, many=True).data}


@extend_schema_view(
    list=extend_schema(
        summary="Mes rendez-vous",
        description="Les rendez-vous pris avec le compte authentifié, les prochains "
        "d'abord (annulés compris, avec leur état).",
        responses={200: AppointmentSerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(
        summary="Un de mes rendez-vous",
        responses={200: AppointmentSerializer, **error_responses(401, 403, 404)}),
    create=extend_schema(
        summary="Réserver un créneau", request=BookingRequestSerializer,
        description="Un usager authentifié réserve pour lui-même (nom et courriel du compte "
        "par défaut). Un agent réserve pour un usager à un lieu dont il tient l'accueil (403 "
        "sinon) : `name` et `email` obligatoires, "
        "`phone` aussi quand l'usager n'a pas de compte dans la collectivité (le rendez-vous "
        "rejoint le compte qui a ce courriel). Si quelqu'un a pris le créneau juste avant : "
        "409 `slot_taken` avec `next_slots`, les prochains créneaux libres du type. Autres "
        "refus (fenêtre de réservation, nombre de rendez-vous à venir par personne…) : 400.",
        responses={201: AppointmentSerializer,
                   409: OpenApiResponse(_NEXT_SLOTS, description="Créneau pris entre-temps "
                                        "(`slot_taken`), avec les prochains libres."),
                   **error_responses(400, 401, 403)}),
)
@extend_schema(tags=["rendez-vous"])
class AppointmentViewSet(OrganisationTimeMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission]
    scope_family = SCOPE
    lookup_value_converter = "uuid"
    queryset = Appointment.objects.none()
    serializer_class = AppointmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appointment.objects.none()
        return queries.appointments_of_account(self.request.user).filter(
            organisation=_organisation(self.request))

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AppointmentSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(AppointmentSerializer(self.get_object()).data)

    def create(self, request):
        organisation = _organisation(request)
        for_resident = _acts_for_resident(request, organisation)
        if not for_resident and request.user.organisation_id != organisation.pk:
            raise exceptions.PermissionDenied
        body = BookingRequestSerializer(data=request.data, context={
            "organisation": organisation, "for_resident": for_resident})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        slot = queries.slot_of_organisation(organisation, data["slot"])
        if slot is None or not slot.appointment_type.is_active:
            raise exceptions.ValidationError({"slot": [_("Créneau introuvable dans cette "
                                                         "collectivité.")]})
        # Through the public query: the type must be bookable here.
        appointment_type = queries.bookable_type(organisation, slot.appointment_type_id)
        if for_resident:
            # The desk's rule (decision 0485): agents of the services receiving there.
            if not rules.works_at_desk(request.user, slot.counter):
                raise exceptions.PermissionDenied(_("Vous ne tenez pas l'accueil de ce lieu."))
            account = queries.resident_account(organisation, data["email"])
            channel = data["channel"]
        else:
            account, channel = request.user, Appointment.Channel.ONLINE
        try:
            appointment = services.book_appointment(
                appointment_type=appointment_type, slot=slot, account=account,
                name=data["name"], email=data["email"], phone=data["phone"],
                actor=request.user, request=request._request, channel=channel)
        except services.SlotTaken as exc:
            return Response(slot_taken_body(exc), status=status.HTTP_409_CONFLICT)
        except services.BookingRefused as exc:
            raise exceptions.ValidationError({"non_field_errors": [exc.message]}) from None
        appointment = (Appointment.objects.select_related("slot__counter", "appointment_type")
                       .get(pk=appointment.pk))
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Annuler un rendez-vous", request=None,
        description="Annule un rendez-vous à venir : le sien (usager), ou, pour un agent, "
        "celui d'un usager à un lieu dont il tient l'accueil. La place redevient libre.",
        responses={200: AppointmentSerializer, **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="cancel")
    def cancel(self, request, pk=None):
        organisation = _organisation(request)
        own = self.get_queryset().filter(pk=pk).first()
        try:
            if own is not None:
                services.cancel_appointment(appointment=own, actor=request.user,
                                            request=request._request)
                appointment = own
            elif _acts_for_resident(request, organisation):
                appointment = queries.desk_appointment(request.user, organisation, pk)
                services.desk_cancel(actor=request.user, appointment=appointment,
                                     request=request._request)
            else:
                raise Http404
        except services.BookingRefused as exc:
            raise exceptions.ValidationError({"non_field_errors": [exc.message]}) from None
        appointment.refresh_from_db()
        return Response(AppointmentSerializer(appointment).data)


# --- Agents: the day at a counter ----------------------------------------------------------


class DeskCounterSerializer(CounterSerializer):
    abilities = serializers.SerializerMethodField()

    class Meta(CounterSerializer.Meta):
        fields = [*CounterSerializer.Meta.fields, "is_active", "abilities"]

    def get_abilities(self, counter) -> dict[str, bool]:
        request = self.context["request"]
        return {"book_for_residents": request_grants(request, f"{SCOPE}:write")}


@extend_schema_view(
    list=extend_schema(
        summary="Lieux d'accueil de l'agent",
        description="Les lieux dont l'agent tient l'accueil : tous pour les directeurs, "
        "médiateurs et administrateurs ; pour un autre agent, ceux où reçoit un agent de "
        "ses services (décision 0485).",
        responses={200: DeskCounterSerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(
        summary="Un lieu d'accueil",
        responses={200: DeskCounterSerializer, **error_responses(401, 403, 404)}),
)
@extend_schema(tags=["rendez-vous"])
class CounterViewSet(OrganisationTimeMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = SCOPE
    lookup_value_converter = "uuid"
    queryset = Counter.objects.none()
    serializer_class = DeskCounterSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Counter.objects.none()
        return queries.desk_counters(self.request.user, self.request.organisation) \
            .select_related("organisation")

    @extend_schema(
        summary="Rendez-vous du jour d'un lieu",
        description="Les rendez-vous réservés d'un jour (heure locale du lieu), dans "
        "l'ordre : usager, contact, type, agent, présence, dossier lié. Chaque lecture est "
        "inscrite au journal d'audit (données des usagers).",
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE,
                                     description="Le jour (défaut : aujourd'hui).")],
        responses={200: DeskAppointmentSerializer(many=True),
                   **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["get"], url_path="appointments",
            serializer_class=DeskAppointmentSerializer)
    def appointments(self, request, pk=None):
        counter = self.get_object()
        filters = DayFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        day = filters.validated_data.get("date") or timezone.localdate(timezone=counter.zone)
        found = queries.appointments_of_day(request.user, request.organisation, counter, day)
        page = self.paginate_queryset(found)
        record_event(organisation=request.organisation, action="appointments.day_read",
                     actor=request.user, obj=counter, request=request._request,
                     details={"date": day.isoformat(), "count": len(page),
                              "via": "api"})
        return self.get_paginated_response(DeskAppointmentSerializer(page, many=True).data)


class AttendanceRequestSerializer(serializers.Serializer):
    expected = serializers.ChoiceField(
        choices=[c.value for c in Appointment.Attendance], required=False, allow_blank=True,
        default=Appointment.Attendance.EXPECTED,
        help_text="La présence que l'agent a lue (`` : attendu, par défaut) : si un autre "
        "agent a noté autre chose entre-temps, 409 `stale` et rien ne change.")


_STALE = inline_serializer("AttendanceStale", {
    "status": serializers.IntegerField(), "code": serializers.CharField(),
    "detail": serializers.CharField(), "current": DeskAppointmentSerializer()})
_STALE_RESPONSE = OpenApiResponse(_STALE, description="Un autre agent a noté autre chose "
                                  "entre-temps (`stale`).")


@extend_schema_view(
    retrieve=extend_schema(
        summary="Un rendez-vous de l'accueil",
        description="Un rendez-vous d'un lieu dont l'agent tient l'accueil (404 sinon). La "
        "lecture est inscrite au journal d'audit.",
        responses={200: DeskAppointmentSerializer, **error_responses(401, 403, 404)}),
)
@extend_schema(tags=["rendez-vous"])
class DeskAppointmentViewSet(OrganisationTimeMixin, viewsets.GenericViewSet):
    """The desk's actions on one appointment: read it, note the arrival or the absence."""

    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = SCOPE
    lookup_value_converter = "uuid"
    queryset = Appointment.objects.none()
    serializer_class = DeskAppointmentSerializer

    def _appointment(self, pk) -> Appointment:
        return queries.desk_appointment(self.request.user, self.request.organisation, pk)

    def retrieve(self, request, pk=None):
        appointment = self._appointment(pk)
        record_event(organisation=request.organisation, action="appointments.read",
                     actor=request.user, obj=appointment, request=request._request,
                     details={"via": "api"})
        return Response(DeskAppointmentSerializer(appointment).data)

    def _attendance(self, request, pk, attendance):
        appointment = self._appointment(pk)
        body = AttendanceRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.set_attendance(actor=request.user, appointment=appointment,
                                    attendance=attendance,
                                    expected=body.validated_data["expected"],
                                    request=request._request)
        except services.StaleDesk as exc:
            current = self._appointment(exc.current.pk)
            return Response({"status": status.HTTP_409_CONFLICT, "code": "stale",
                             "detail": exc.message,
                             "current": DeskAppointmentSerializer(current).data},
                            status=status.HTTP_409_CONFLICT)
        except services.BookingRefused as exc:
            raise exceptions.ValidationError({"non_field_errors": [exc.message]}) from None
        return Response(DeskAppointmentSerializer(self._appointment(pk)).data)

    @extend_schema(
        summary="Noter l'arrivée", request=AttendanceRequestSerializer,
        description="L'usager est arrivé (le jour du rendez-vous). Journalisé.",
        responses={200: DeskAppointmentSerializer,
                   409: _STALE_RESPONSE,
                   **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        return self._attendance(request, pk, Appointment.Attendance.ARRIVED)

    @extend_schema(
        summary="Noter l'absence", request=AttendanceRequestSerializer,
        description="L'usager n'est pas venu (une fois l'heure passée). Journalisé.",
        responses={200: DeskAppointmentSerializer,
                   409: _STALE_RESPONSE,
                   **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        return self._attendance(request, pk, Appointment.Attendance.NO_SHOW)
