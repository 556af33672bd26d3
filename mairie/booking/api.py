"""REST endpoints of the booking of rooms, vehicles and equipment (issue 6), for agents: the
resources they see, the free ones over a range, reserving (once or in a series, with its
conflict report), their reservations and loans, cancelling.

Same reads and writes as the pages: lists and fetches go through `queries`
(`resources_visible_to`, `free_resources`, `reservations_visible_to`, `loans_visible_to`),
writes through `services.reserve` / `reserve_series` / `cancel`, which check the rights
(403), the rules (400 with the field) and audit. A slot already held answers 409 `conflict`
with the reservation in the way (decision 0492)."""

from __future__ import annotations

from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from mairie.api.api import error_responses
from mairie.api.permissions import IsAgentOfOrganisation, TokenScopePermission, request_grants
from mairie.api.scopes import register_scope
from mairie.appointments.api import OrganisationTimeMixin

from . import queries, rules, services
from .models import Loan, Reservation, Resource

SCOPE = "booking"


def register_scopes() -> None:
    register_scope(f"{SCOPE}:read", gettext_lazy("Réservations : lecture"),
                   gettext_lazy("Lire les salles, véhicules et matériel que vous voyez, les "
                                "disponibilités, vos réservations et vos prêts."))
    register_scope(f"{SCOPE}:write", gettext_lazy("Réservations : écriture"),
                   gettext_lazy("Réserver une salle, un véhicule ou du matériel (une fois ou "
                                "en série) et annuler. Inclut la lecture."))


def _who(user) -> dict | None:
    return {"id": user.pk, "name": user.get_full_name() or user.email} if user else None


_PERSON = inline_serializer("Person", {"id": serializers.UUIDField(),
                                       "name": serializers.CharField()})


# --- Serializers ---------------------------------------------------------------------------


class OwnerServiceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ResourceSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    service = OwnerServiceSerializer()
    max_duration_minutes = serializers.SerializerMethodField()
    abilities = serializers.SerializerMethodField()

    class Meta:
        model = Resource
        fields = ["id", "kind", "kind_label", "name", "description", "location", "service",
                  "capacity", "equipment", "inventory_number", "accessible",
                  "accessibility_notes", "requires_approval", "max_days_ahead",
                  "max_duration_minutes", "quota_hours_per_week", "quota_future_reservations",
                  "abilities"]

    def get_max_duration_minutes(self, resource) -> int | None:
        duration = resource.max_duration
        return int(duration.total_seconds() // 60) if duration else None

    @extend_schema_field(inline_serializer("ResourceAbilities", {
        "book": serializers.BooleanField(), "lend": serializers.BooleanField()}))
    def get_abilities(self, resource):
        request = self.context["request"]
        writes = request_grants(request, f"{SCOPE}:write")
        return {"book": writes and rules.may_book(request.user, resource),
                "lend": writes and rules.may_lend(request.user, resource)}


class ResourceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    name = serializers.CharField()


class ReservationSerializer(serializers.ModelSerializer):
    resource = ResourceRefSerializer()
    state_label = serializers.CharField(source="get_state_display")
    series = serializers.UUIDField(source="series_id", allow_null=True)
    booker = serializers.SerializerMethodField()
    abilities = serializers.SerializerMethodField()

    class Meta:
        model = Reservation
        fields = ["id", "resource", "title", "start", "end", "state", "state_label",
                  "series", "booker", "refusal_reason", "cancelled_at", "created_at",
                  "abilities"]

    @extend_schema_field(_PERSON)
    def get_booker(self, reservation):
        return _who(reservation.booker)

    @extend_schema_field(inline_serializer("ReservationAbilities", {
        "cancel": serializers.BooleanField()}))
    def get_abilities(self, reservation):
        request = self.context["request"]
        return {"cancel": (reservation.is_active and request_grants(request, f"{SCOPE}:write")
                           and rules.may_cancel(request.user, reservation))}


class LoanSerializer(serializers.ModelSerializer):
    resource = ResourceRefSerializer()
    borrower = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Loan
        fields = ["id", "resource", "borrower", "checked_out_at", "due_on", "returned_at",
                  "condition_out", "condition_in", "overdue"]

    @extend_schema_field(_PERSON)
    def get_borrower(self, loan):
        return _who(loan.borrower)

    def get_overdue(self, loan) -> bool:
        return loan.returned_at is None and loan.due_on < services._today(loan.organisation)


class RangeSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Début (heure locale de la collectivité si "
                                      "sans décalage).")
    end = serializers.DateTimeField(help_text="Fin, exclue : deux réservations bout à bout "
                                    "ne se gênent pas.")

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": [_("La fin doit être après le "
                                                         "début.")]})
        return attrs


class FreeFilterSerializer(RangeSerializer):
    kind = serializers.ChoiceField(choices=Resource.Kind.choices, required=False)
    min_capacity = serializers.IntegerField(min_value=1, required=False)


class ReservationRequestSerializer(RangeSerializer):
    resource = serializers.UUIDField()
    title = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                  default="")


class SeriesRequestSerializer(ReservationRequestSerializer):
    rrule = serializers.CharField(max_length=500, help_text="Règle RFC 5545 avec COUNT ou "
                                  "UNTIL, par exemple `FREQ=WEEKLY;COUNT=10`.")


class CancelRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True,
                                   default="")
    whole_series = serializers.BooleanField(required=False, default=False,
                                            help_text="Aussi les occurrences suivantes de "
                                            "la série.")


class ClashSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    reason = serializers.CharField()
    reservation = serializers.UUIDField(allow_null=True,
                                        help_text="La réservation qui gêne, si vous la "
                                        "voyez.")


class SeriesSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="series.pk", allow_null=True)
    rrule = serializers.CharField(source="series.rrule", allow_null=True)
    reservations = ReservationSerializer(many=True)
    conflicts = ClashSerializer(many=True)


_CONFLICT = inline_serializer("ReservationConflict", {
    "status": serializers.IntegerField(), "code": serializers.CharField(),
    "detail": serializers.CharField(), "clash": ClashSerializer(allow_null=True)})


def _visible_id(user, reservation):
    """The id of the reservation in the way, only when `user` may see it."""
    if reservation is None or not rules.may_see_reservation(user, reservation):
        return None
    return reservation.pk


def _clash_body(user, exc: services.Conflict, start, end) -> dict:
    clash = exc.clash
    return {"status": status.HTTP_409_CONFLICT, "code": "conflict", "detail": exc.messages[0],
            "clash": ClashSerializer({
                "start": clash.start if clash else start, "end": clash.end if clash else end,
                "reason": exc.messages[0], "reservation": _visible_id(user, clash)}).data}


# --- Resources -----------------------------------------------------------------------------


_KIND = OpenApiParameter("kind", OpenApiTypes.STR, description="`room` (salle), `vehicle` "
                         "(véhicule) ou `equipment` (matériel).")


@extend_schema_view(
    list=extend_schema(
        summary="Ressources", parameters=[_KIND],
        description="Les salles, véhicules et matériel que l'agent voit : ceux qu'il peut "
        "réserver, ceux de ses services ou qu'il valide ; tous pour les directeurs et "
        "administrateurs.",
        responses={200: ResourceSerializer(many=True), **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        summary="Une ressource",
        responses={200: ResourceSerializer, **error_responses(401, 403, 404)}),
)
@extend_schema(tags=["réservations"])
class ResourceViewSet(OrganisationTimeMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = SCOPE
    lookup_value_converter = "uuid"
    queryset = Resource.objects.none()
    serializer_class = ResourceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Resource.objects.none()
        resources = (queries.resources_visible_to(self.request.user, self.request.organisation)
                     .select_related("organisation").prefetch_related("rights"))
        if self.action == "list":
            kind = self.request.query_params.get("kind")
            if kind:
                if kind not in Resource.Kind.values:
                    raise exceptions.ValidationError(
                        {"kind": [_("Attendu : room, vehicle ou equipment.")]})
                resources = resources.filter(kind=kind)
        return resources

    @extend_schema(
        summary="Ressources libres sur une plage",
        description="Celles que l'agent peut réserver et que rien n'occupe de `start` à "
        "`end` (réservation confirmée ou en attente ; matériel en prêt), les plus petites "
        "d'abord : « une salle pour 8 jeudi après-midi ».",
        parameters=[OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
                    OpenApiParameter("end", OpenApiTypes.DATETIME, required=True),
                    _KIND, OpenApiParameter("min_capacity", OpenApiTypes.INT)],
        responses={200: ResourceSerializer(many=True), **error_responses(400, 401, 403)})
    @action(detail=False, methods=["get"], url_path="free")
    def free(self, request):
        filters = FreeFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        found = (queries.free_resources(request.user, request.organisation,
                                        start=params["start"], end=params["end"],
                                        kind=params.get("kind"),
                                        min_capacity=params.get("min_capacity"))
                 .select_related("organisation").prefetch_related("rights"))
        page = self.paginate_queryset(found)
        return self.get_paginated_response(
            ResourceSerializer(page, many=True, context={"request": request}).data)


# --- Reservations --------------------------------------------------------------------------


def _resource_for(request, pk) -> Resource:
    found = queries.resource_visible_to(request.user, request.organisation, pk)
    if found is None:
        raise exceptions.ValidationError({"resource": [_("Ressource introuvable parmi celles "
                                                         "que vous voyez.")]})
    return found


@extend_schema_view(
    list=extend_schema(
        summary="Mes réservations",
        description="Les réservations de l'agent (`scope=mine`, par défaut), ou toutes "
        "celles qu'il voit (`scope=visible` : aussi celles des ressources de ses services ou "
        "qu'il valide), par début.",
        parameters=[
            OpenApiParameter("scope", OpenApiTypes.STR, description="`mine` ou `visible`."),
            OpenApiParameter("from", OpenApiTypes.DATETIME,
                             description="Finissant après ce moment (défaut : maintenant)."),
            OpenApiParameter("state", OpenApiTypes.STR, description="`requested`, "
                             "`confirmed`, `refused` ou `cancelled`."),
        ],
        responses={200: ReservationSerializer(many=True), **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        summary="Une réservation",
        responses={200: ReservationSerializer, **error_responses(401, 403, 404)}),
    create=extend_schema(
        summary="Réserver", request=ReservationRequestSerializer,
        description="Réserve la ressource de `start` à `end` : confirmée, ou en attente de "
        "validation quand la ressource en demande une. Droit de réserver (403), règles de "
        "la ressource (400 : fenêtre, durée maximale, quotas), créneau déjà pris (409 "
        "`conflict`, avec la réservation qui gêne).",
        responses={201: ReservationSerializer,
                   409: OpenApiResponse(_CONFLICT, description="Créneau déjà pris "
                                        "(`conflict`)."),
                   **error_responses(400, 401, 403)}),
)
@extend_schema(tags=["réservations"])
class ReservationViewSet(OrganisationTimeMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = SCOPE
    lookup_value_converter = "uuid"
    queryset = Reservation.objects.none()
    serializer_class = ReservationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Reservation.objects.none()
        return (queries.reservations_visible_to(self.request.user, self.request.organisation)
                .select_related("resource__organisation", "resource__service")
                .prefetch_related("resource__rights"))

    def _data(self, reservations, many=False):
        return ReservationSerializer(reservations, many=many,
                                     context={"request": self.request}).data

    def list(self, request):
        from django.utils import timezone

        reservations = self.get_queryset()
        scope = request.query_params.get("scope", "mine")
        if scope not in ("mine", "visible"):
            raise exceptions.ValidationError({"scope": [_("Attendu : mine ou visible.")]})
        if scope == "mine":
            reservations = reservations.filter(booker=request.user)
        state = request.query_params.get("state")
        if state:
            if state not in Reservation.State.values:
                raise exceptions.ValidationError({"state": [_("État inconnu.")]})
            reservations = reservations.filter(state=state)
        since = timezone.now()
        if request.query_params.get("from"):
            field = serializers.DateTimeField()
            try:
                since = field.to_internal_value(request.query_params["from"])
            except serializers.ValidationError as exc:
                raise exceptions.ValidationError({"from": exc.detail}) from None
        page = self.paginate_queryset(reservations.filter(end__gt=since).order_by("start",
                                                                                  "pk"))
        return self.get_paginated_response(self._data(page, many=True))

    def retrieve(self, request, pk=None):
        return Response(self._data(self.get_object()))

    def create(self, request):
        body = ReservationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        resource = _resource_for(request, data["resource"])
        try:
            reservation = services.reserve(actor=request.user, resource=resource,
                                           start=data["start"], end=data["end"],
                                           title=data["title"], request=request._request)
        except services.Conflict as exc:
            return Response(_clash_body(request.user, exc, data["start"], data["end"]),
                            status=status.HTTP_409_CONFLICT)
        return Response(self._data(self.get_queryset().get(pk=reservation.pk)),
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Annuler une réservation", request=CancelRequestSerializer,
        description="Annule la réservation (et avec `whole_series` les occurrences "
        "suivantes de sa série). Le réservant, le service gestionnaire et les valideurs "
        "peuvent annuler ; le réservant est prévenu quand c'est quelqu'un d'autre.",
        responses={200: ReservationSerializer(many=True),
                   **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="cancel")
    def cancel(self, request, pk=None):
        reservation = self.get_object()
        body = CancelRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cancelled = services.cancel(actor=request.user, reservation=reservation,
                                    reason=body.validated_data["reason"],
                                    whole_series=body.validated_data["whole_series"],
                                    request=request._request)
        fresh = self.get_queryset().filter(pk__in=[r.pk for r in cancelled]).order_by("start")
        return Response(self._data(fresh, many=True))


@extend_schema(tags=["réservations"])
class ReservationSeriesViewSet(OrganisationTimeMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = SCOPE
    queryset = Reservation.objects.none()
    serializer_class = SeriesSerializer

    @extend_schema(
        summary="Réserver en série", request=SeriesRequestSerializer,
        description="Réserve chaque occurrence libre de la règle de récurrence (la première "
        "est `start`–`end`), en heure locale (14 h reste 14 h au changement d'heure). Les "
        "occurrences prises ou hors quota sont dans `conflicts` (le rapport des conflits). "
        "Aucune occurrence libre : 409 `conflict` avec le rapport. Règle illisible, sans "
        "fin ou dépassant la fenêtre : 400 sur `rrule`, rien n'est réservé.",
        responses={201: SeriesSerializer,
                   409: OpenApiResponse(SeriesSerializer, description="Aucune occurrence "
                                        "libre (`conflict`)."),
                   **error_responses(400, 401, 403)})
    def create(self, request):
        body = SeriesRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        resource = _resource_for(request, data["resource"])
        result = services.reserve_series(actor=request.user, resource=resource,
                                         start=data["start"], end=data["end"],
                                         rrule=data["rrule"], title=data["title"],
                                         request=request._request)
        conflicts = [{"start": c.start, "end": c.end, "reason": c.reason,
                      "reservation": _visible_id(request.user, c.reservation)}
                     for c in result.conflicts]
        body = SeriesSerializer({"series": result.series, "reservations": result.reservations,
                                 "conflicts": conflicts}, context={"request": request}).data
        if result.series is None:
            return Response({"status": status.HTTP_409_CONFLICT, "code": "conflict",
                             "detail": _("Aucune occurrence de la série n'est libre."),
                             **body}, status=status.HTTP_409_CONFLICT)
        return Response(body, status=status.HTTP_201_CREATED)


# --- Loans ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Mes prêts de matériel",
        description="Le matériel prêté à l'agent (`scope=mine`, par défaut) ou tous les prêts "
        "qu'il voit (`scope=visible` : aussi ceux du matériel de ses services), en cours "
        "d'abord (`open=false` pour l'historique).",
        parameters=[OpenApiParameter("scope", OpenApiTypes.STR,
                                     description="`mine` ou `visible`."),
                    OpenApiParameter("open", OpenApiTypes.BOOL,
                                     description="Seulement les prêts en cours (défaut).")],
        responses={200: LoanSerializer(many=True), **error_responses(400, 401, 403)}),
    retrieve=extend_schema(summary="Un prêt",
                           responses={200: LoanSerializer, **error_responses(401, 403, 404)}),
)
@extend_schema(tags=["réservations"])
class LoanViewSet(OrganisationTimeMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = SCOPE
    lookup_value_converter = "uuid"
    queryset = Loan.objects.none()
    serializer_class = LoanSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Loan.objects.none()
        loans = queries.loans_visible_to(self.request.user, self.request.organisation) \
            .select_related("organisation")
        if self.action != "list":
            return loans
        params = self.request.query_params
        scope = params.get("scope", "mine")
        if scope not in ("mine", "visible"):
            raise exceptions.ValidationError({"scope": [_("Attendu : mine ou visible.")]})
        if scope == "mine":
            loans = loans.filter(borrower=self.request.user)
        only_open = params.get("open", "true").lower()
        if only_open not in ("true", "false", "1", "0"):
            raise exceptions.ValidationError({"open": [_("Attendu : true ou false.")]})
        if only_open in ("true", "1"):
            loans = loans.filter(returned_at__isnull=True)
        return loans.order_by(F("returned_at").asc(nulls_first=True), "due_on", "pk")
