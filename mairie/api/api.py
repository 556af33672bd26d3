"""REST endpoints of the kernel: the current user (`/me/`) and the organisation's services.

Reads go through `mairie.core.organisation.queries`, writes through services, like the pages.
"""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mairie.core.organisation.models import Membership, Service
from mairie.core.organisation.queries import memberships_of_user, roles_of, services_visible_to
from mairie.core.organisation.rules import organisation_abilities
from mairie.core.tenancy.models import Organisation

from .permissions import (
    IsAgentOfOrganisation,
    TokenScopePermission,
    request_grants,
    token_of,
)
from .services import update_own_names


class ErrorSerializer(serializers.Serializer):
    """The body of every error (see mairie.api.errors)."""

    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Code stable, pour les programmes.")
    detail = serializers.CharField(help_text="Message en français, pour les personnes.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Erreurs par champ (seulement pour le code `invalid`).")


_ERROR_TEXTS = {
    400: "Données invalides (`invalid`).",
    401: "Non authentifié, ou jeton invalide, expiré, révoqué ou d'une autre collectivité.",
    403: "Authentifié, mais pas autorisé (rôle, ou portée du jeton : `scope_missing`).",
    404: "Introuvable, ou hors de la collectivité de l'adresse.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXTS[status])
            for status in statuses}


class OrganisationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "slug"]


class ServiceSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "name", "slug"]


class MembershipSerializer(serializers.ModelSerializer):
    service = ServiceSummarySerializer()
    role_label = serializers.CharField(source="get_role_display")

    class Meta:
        model = Membership
        fields = ["service", "role", "role_label"]


class AuthenticationSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["session", "token"])
    scopes = serializers.ListField(child=serializers.CharField(), allow_null=True,
                                   help_text="Portées du jeton ; null pour une session.")
    token_name = serializers.CharField(allow_null=True)
    token_expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")
    organisation = OrganisationSummarySerializer(allow_null=True)
    memberships = serializers.SerializerMethodField()
    abilities = serializers.SerializerMethodField()
    authentication = serializers.SerializerMethodField()

    @extend_schema_field(MembershipSerializer(many=True))
    def get_memberships(self, user):
        return MembershipSerializer(memberships_of_user(user), many=True).data

    @extend_schema_field(inline_serializer("Abilities", {
        "agent": serializers.BooleanField(),
        "view_chart": serializers.BooleanField(),
        "manage_services": serializers.BooleanField(),
        "manage_members": serializers.BooleanField(),
        "change_settings": serializers.BooleanField(),
        "view_audit": serializers.BooleanField(),
        "update_profile": serializers.BooleanField(),
    }))
    def get_abilities(self, user):
        request = self.context["request"]
        abilities = {"agent": bool(roles_of(user, request.organisation)),
                     **organisation_abilities(user, request.organisation)}
        # What this request's credentials allow: a read-only token cannot change the profile.
        abilities["update_profile"] = request_grants(request, "write")
        return abilities

    @extend_schema_field(AuthenticationSerializer)
    def get_authentication(self, user):
        token = token_of(self.context["request"])
        if token is None:
            return {"method": "session", "scopes": None, "token_name": None,
                    "token_expires_at": None}
        return AuthenticationSerializer({
            "method": "token", "scopes": token.scopes, "token_name": token.name,
            "token_expires_at": token.expires_at}).data


class MeUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)


class MeView(APIView):
    """The authenticated user: identity, organisation, roles and abilities."""

    permission_classes = [IsAuthenticated, TokenScopePermission]

    @extend_schema(
        operation_id="me_retrieve", summary="Mon profil", tags=["compte"],
        description="L'utilisateur authentifié : identité, collectivité, rôles dans les "
        "services, capacités (`abilities`) et mode d'authentification (session ou jeton, "
        "avec ses portées).",
        responses={200: MeSerializer, **error_responses(401, 403)})
    def get(self, request):
        return Response(MeSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        operation_id="me_partial_update", summary="Modifier mon nom", tags=["compte"],
        description="Change le prénom et/ou le nom de l'utilisateur authentifié (un champ "
        "absent reste inchangé). Le changement est inscrit au journal d'audit.",
        request=MeUpdateSerializer,
        responses={200: MeSerializer, **error_responses(400, 401, 403)})
    def patch(self, request):
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = update_own_names(actor=request.user, request=request._request,
                                **serializer.validated_data)
        return Response(MeSerializer(user, context={"request": request}).data)


@extend_schema(exclude=True)
class MeAliasView(MeView):
    """`/api/v1/me` without the final slash, as people type it."""


class ServiceSerializer(serializers.ModelSerializer):
    parent = serializers.UUIDField(source="parent_id", read_only=True, allow_null=True)
    abilities = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = ["id", "name", "slug", "parent", "description", "email", "abilities"]

    @extend_schema_field(inline_serializer("ServiceAbilities", {
        "update": serializers.BooleanField(),
    }))
    def get_abilities(self, service):
        request = self.context["request"]
        return {"update": (request.user.has_perm("organisation.change_service", service)
                           and request_grants(request, "write"))}


@extend_schema_view(
    list=extend_schema(
        summary="Services de la collectivité",
        description="Les directions et services de la collectivité de l'adresse, par ordre "
        "alphabétique, paginés. Réservé à ses agents.",
        responses={200: ServiceSerializer(many=True), **error_responses(401, 403, 404)}),
    retrieve=extend_schema(
        summary="Un service",
        description="Un service de la collectivité de l'adresse. Réservé à ses agents.",
        responses={200: ServiceSerializer, **error_responses(401, 403, 404)}),
)
@extend_schema(tags=["organisation"])
class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    """Services (directions, services) of the organisation, for its agents."""

    serializer_class = ServiceSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    lookup_value_converter = "uuid"
    queryset = Service.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Service.objects.none()
        # The abilities' rule reads service.organisation: join it rather than fetch it per row.
        return (services_visible_to(self.request.user, self.request.organisation)
                .select_related("organisation"))

