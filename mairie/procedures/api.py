"""REST endpoints of the procedures engine: procedures (read) and dossiers (list, read, file
on behalf of an applicant, take a transition, write a message, add an annotation).

The same reads and writes as the agents' pages, so the same permissions: lists and fetches go
through `queries.dossiers_for_agent` / `dossier_for_agent` (another service's or another
organisation's dossier is a 404), writes through `workflow.apply_transition`,
`processing.*` and `services_api.file_on_behalf`, which check the roles (403) and audit.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from mairie.api.api import error_responses
from mairie.api.permissions import IsAgentOfOrganisation, TokenScopePermission, request_grants
from mairie.core.notifications.emails import absolute_link

from . import processing, queries, services, services_api, workflow
from . import schema as schema_helpers
from .forms_agent import DEADLINE_CHOICES, SORT_CHOICES
from .models import Dossier, DossierAnnotation, DossierMessage, ProcedureDefinition
from .rules import abilities


class StaleConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stale"
    default_detail = _("Ce dossier a été modifié depuis votre lecture.")


_STALE = {409: OpenApiResponse(description="Le dossier a changé depuis la lecture "
                               "(`stale`) : relisez-le et renvoyez avec son `lock_version`.")}


# --- Procedures -------------------------------------------------------------------------------


class ServiceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ProcedureSerializer(serializers.ModelSerializer):
    service = ServiceRefSerializer()
    version = serializers.IntegerField(source="current_version.number",
                                       help_text="Numéro de la version publiée.")
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = ProcedureDefinition
        fields = ["id", "slug", "title", "description", "audience", "service", "version",
                  "is_open", "opens_at", "closes_at"]

    def get_is_open(self, definition) -> bool:
        return definition.is_open()


class WorkflowStateSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()


class WorkflowTransitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    to = serializers.CharField()
    role = serializers.CharField()
    required_fields = serializers.ListField(child=serializers.DictField())


class ProcedureDetailSerializer(ProcedureSerializer):
    schema = serializers.JSONField(source="current_version.schema",
                                   help_text="Le formulaire publié : pages, champs, conditions "
                                   "(voir docs/procedures.md).")
    states = serializers.SerializerMethodField()
    transitions = serializers.SerializerMethodField()

    class Meta(ProcedureSerializer.Meta):
        fields = [*ProcedureSerializer.Meta.fields, "schema", "states", "transitions"]

    @extend_schema_field(WorkflowStateSerializer(many=True))
    def get_states(self, definition):
        return [{"key": s.get("key"), "label": s.get("label") or s.get("key"),
                 "kind": s.get("kind", "")} for s in definition.current_version.workflow.states]

    @extend_schema_field(WorkflowTransitionSerializer(many=True))
    def get_transitions(self, definition):
        return [{"key": t.get("key"), "label": t.get("label") or t.get("key"),
                 "to": t.get("to"), "role": t.get("role"),
                 "required_fields": [{k: str(v) if k == "label" else v for k, v in f.items()}
                                     for f in workflow.field_specs(t)]}
                for t in definition.current_version.workflow.transitions if isinstance(t, dict)]


@extend_schema_view(
    list=extend_schema(
        summary="Démarches", description="Les démarches publiées dont l'agent voit les "
        "dossiers (toutes pour les directeurs et administrateurs), par titre.",
        responses={200: ProcedureSerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(
        summary="Une démarche", description="Une démarche, avec le formulaire de sa version "
        "publiée et les états et étapes de son circuit.",
        responses={200: ProcedureDetailSerializer, **error_responses(401, 403, 404)}),
)
@extend_schema(tags=["démarches"])
class ProcedureViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = "procedures"
    lookup_value_converter = "uuid"
    queryset = ProcedureDefinition.objects.none()

    def get_serializer_class(self):
        return ProcedureDetailSerializer if self.action == "retrieve" else ProcedureSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProcedureDefinition.objects.none()
        return (queries.procedures_for_agent(self.request.user, self.request.organisation)
                .select_related("service", "current_version__workflow"))


# --- Dossiers ---------------------------------------------------------------------------------


class RefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ProcedureRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    title = serializers.CharField()


class DossierSerializer(serializers.ModelSerializer):
    procedure = serializers.SerializerMethodField()
    state_label = serializers.CharField()
    applicant = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()
    labels = serializers.SerializerMethodField()

    class Meta:
        model = Dossier
        fields = ["id", "number", "procedure", "state", "state_label", "submitted_at",
                  "deadline_at", "decided_at", "applicant", "assigned_to", "labels",
                  "lock_version", "updated_at"]

    @extend_schema_field(ProcedureRefSerializer)
    def get_procedure(self, dossier):
        definition = dossier.version.definition
        return {"id": definition.pk, "slug": definition.slug, "title": definition.title}

    @extend_schema_field(serializers.DictField(help_text="name, email, account (bool)"))
    def get_applicant(self, dossier):
        user = dossier.applicant
        return {"name": (user.get_full_name() if user else "") or "",
                "email": dossier.applicant_email or (user.email if user else ""),
                "account": user is not None}

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_assigned_to(self, dossier):
        user = dossier.assigned_to
        return {"id": user.pk, "name": user.get_full_name() or user.email} if user else None

    @extend_schema_field(RefSerializer(many=True))
    def get_labels(self, dossier):
        return [{"id": label.pk, "name": label.name} for label in dossier.labels.all()]


class AnswerSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class FileSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    field = serializers.CharField()
    name = serializers.CharField()
    url = serializers.URLField()


class EventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    public = serializers.BooleanField(help_text="Faux : visible des seuls agents.")
    text = serializers.CharField()
    actor = serializers.CharField(allow_null=True)


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = DossierMessage
        fields = ["id", "created_at", "from_applicant", "author", "body"]

    def get_author(self, message) -> str:
        return message.author.get_full_name() or message.author.email if message.author else ""


class AnnotationSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = DossierAnnotation
        fields = ["id", "created_at", "author", "body"]

    def get_author(self, note) -> str:
        return note.author.get_full_name() or note.author.email if note.author else ""


class AvailableTransitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    allowed = serializers.BooleanField()
    reason = serializers.CharField()
    required_fields = serializers.ListField(child=serializers.DictField())


class DossierDetailSerializer(DossierSerializer):
    answers = serializers.JSONField(source="data", help_text="Réponses par clé de champ.")
    answers_summary = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()
    annotations = serializers.SerializerMethodField()
    transitions = serializers.SerializerMethodField()
    abilities = serializers.SerializerMethodField()

    class Meta(DossierSerializer.Meta):
        fields = [*DossierSerializer.Meta.fields, "processing_data", "answers",
                  "answers_summary", "files", "timeline", "messages", "annotations",
                  "transitions", "abilities"]

    def _can(self, dossier) -> dict:
        if not hasattr(dossier, "_api_can"):
            dossier._api_can = abilities(self.context["request"].user, dossier)
        return dossier._api_can

    @extend_schema_field(AnswerSerializer(many=True))
    def get_answers_summary(self, dossier):
        return [{"label": label, "value": value} for label, value in
                schema_helpers.answers_summary(dossier.version.schema, dossier.data or {})]

    @extend_schema_field(FileSerializer(many=True))
    def get_files(self, dossier):
        from django.urls import reverse

        return [{"id": f.stored_file_id, "field": f.field_key,
                 "name": f.stored_file.original_name,
                 "url": absolute_link(dossier.organisation,
                                      reverse("files:download", args=[f.stored_file_id]))}
                for f in queries.files_of(dossier)]

    @extend_schema_field(EventSerializer(many=True))
    def get_timeline(self, dossier):
        from .events import describe

        return [{"id": e.pk, "kind": e.kind, "at": e.at, "public": e.public,
                 "text": describe(e),
                 "actor": (e.actor.get_full_name() or e.actor.email) if e.actor else None}
                for e in queries.timeline_of(dossier)]

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, dossier):
        if not self._can(dossier)["process"]:
            return []
        return MessageSerializer(processing.messages_of(dossier), many=True).data

    @extend_schema_field(AnnotationSerializer(many=True))
    def get_annotations(self, dossier):
        if not self._can(dossier)["process"]:
            return []
        return AnnotationSerializer(dossier.annotations.select_related("author")
                                    .order_by("created_at"), many=True).data

    @extend_schema_field(AvailableTransitionSerializer(many=True))
    def get_transitions(self, dossier):
        return [{"key": a.key, "label": a.label, "allowed": a.allowed, "reason": a.reason,
                 "required_fields": [{k: str(v) if k == "label" else v for k, v in f.items()}
                                     for f in workflow.field_specs(a.transition)]}
                for a in workflow.transitions_for(self.context["request"].user, dossier)
                if a.transition.get("role") != workflow.APPLICANT]

    @extend_schema_field(serializers.DictField(child=serializers.BooleanField()))
    def get_abilities(self, dossier):
        can = dict(self._can(dossier))
        if not request_grants(self.context["request"], "dossiers:write"):
            can = {key: False if key != "view" else value for key, value in can.items()}
        return {key: value for key, value in can.items()
                if key not in ("edit", "submit", "receipt")}


class DossierFilterSerializer(serializers.Serializer):
    box = serializers.ChoiceField(choices=queries.INBOX_BOXES, default=queries.DEFAULT_BOX)
    procedure = serializers.UUIDField(required=False)
    state = serializers.CharField(required=False, max_length=50)
    label = serializers.UUIDField(required=False)
    assigned = serializers.CharField(required=False, help_text="`me`, `none` ou l'id d'un "
                                     "agent.")
    deadline = serializers.ChoiceField(choices=[c for c, _label in DEADLINE_CHOICES if c],
                                       required=False)
    submitted_from = serializers.DateField(required=False)
    submitted_to = serializers.DateField(required=False)
    q = serializers.CharField(required=False, max_length=200)
    sort = serializers.ChoiceField(choices=[c for c, _label in SORT_CHOICES],
                                   default=queries.DEFAULT_SORT)

    def validate_assigned(self, value):
        if value in ("me", "none"):
            return value
        try:
            return str(serializers.UUIDField().to_internal_value(value))
        except serializers.ValidationError:
            raise serializers.ValidationError(
                _("Attendu : « me », « none » ou l'identifiant d'un agent.")) from None

    def validate(self, attrs):
        start, end = attrs.get("submitted_from"), attrs.get("submitted_to")
        if start and end and start > end:
            raise serializers.ValidationError({"submitted_to": [
                _("Cette date doit être postérieure ou égale à la date de début.")]})
        return attrs


class DossierCreateSerializer(serializers.Serializer):
    procedure = serializers.UUIDField(help_text="Id de la démarche (sa version publiée).")
    applicant_email = serializers.EmailField(
        help_text="Courriel du demandeur : le dossier rejoint son compte s'il en a un dans la "
        "collectivité, sinon le lien de suivi lui est envoyé.")
    answers = serializers.DictField(help_text="Réponses par clé de champ, comme dans "
                                    "`answers` d'un dossier (adresse : objet street/postcode/"
                                    "city ; bloc : liste d'objets ; oui/non : booléen).")


class TransitionRequestSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Clé de l'étape (voir `transitions` du dossier).")
    lock_version = serializers.IntegerField(help_text="`lock_version` du dossier lu.")
    values = serializers.DictField(required=False, default=dict,
                                   help_text="Champs demandés par l'étape (`motivation`…).")


class TextSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=processing.MESSAGE_MAX_CHARS)


# Allowed values are listed in the descriptions rather than as `enum`: Swagger UI renders an
# enum parameter as a <select> without an accessible name (axe: select-name, decision 0220).
_FILTERS = [
    OpenApiParameter("box", OpenApiTypes.STR, description="Boîte de la corbeille : "
                     + ", ".join(f"`{box}`" for box in queries.INBOX_BOXES)
                     + " (défaut : `services` ; `all` pour les directeurs et administrateurs)."),
    OpenApiParameter("procedure", OpenApiTypes.UUID, description="Id de la démarche."),
    OpenApiParameter("state", OpenApiTypes.STR, description="Clé d'état du circuit."),
    OpenApiParameter("label", OpenApiTypes.UUID, description="Id d'une étiquette."),
    OpenApiParameter("assigned", OpenApiTypes.STR, description="`me`, `none` ou id d'agent."),
    OpenApiParameter("deadline", OpenApiTypes.STR,
                     description="`overdue` (dépassée), `week` (dans 7 jours) ou `none`."),
    OpenApiParameter("submitted_from", OpenApiTypes.DATE, description="Déposé à partir du."),
    OpenApiParameter("submitted_to", OpenApiTypes.DATE, description="Déposé jusqu'au."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Numéro, demandeur, texte des "
                     "réponses."),
    OpenApiParameter("sort", OpenApiTypes.STR, description="Tri : "
                     + ", ".join(f"`{key}`" for key, _label in SORT_CHOICES) + "."),
]


@extend_schema_view(
    list=extend_schema(
        summary="Dossiers", parameters=_FILTERS,
        description="Les dossiers déposés que l'agent voit dans la boîte choisie de sa "
        "corbeille, filtrés et triés comme sur la page « Dossiers ».",
        responses={200: DossierSerializer(many=True), **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        summary="Un dossier", description="Réponses, fichiers (liens), historique complet "
        "(`public` faux : vu des seuls agents), messages, annotations, étapes possibles. La "
        "lecture est inscrite au journal d'audit.",
        responses={200: DossierDetailSerializer, **error_responses(401, 403, 404)}),
    create=extend_schema(
        summary="Déposer un dossier pour un demandeur", request=DossierCreateSerializer,
        description="Pour les outils internes : dépose un dossier complet de la version "
        "publiée, au nom d'un demandeur. Réservé aux agents qui traitent la démarche. Les "
        "réponses sont vérifiées page par page comme sur le site (erreurs par "
        "`answers.<champ>`).",
        responses={201: DossierDetailSerializer, **error_responses(400, 401, 403, 404)}),
)
@extend_schema(tags=["dossiers"])
class DossierViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgentOfOrganisation]
    scope_family = "dossiers"
    lookup_value_converter = "uuid"
    queryset = Dossier.objects.none()
    serializer_class = DossierSerializer

    def _dossier(self, pk) -> Dossier:
        return queries.dossier_for_agent(self.request.user, self.request.organisation, pk)

    def _detail(self, dossier: Dossier, status_code=status.HTTP_200_OK) -> Response:
        fresh = self._dossier(dossier.pk)
        return Response(DossierDetailSerializer(fresh, context={"request": self.request}).data,
                        status=status_code)

    def list(self, request):
        filters = DossierFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        scope = queries.AgentScope(request.user, request.organisation)
        if params["box"] not in scope.boxes:
            raise exceptions.ValidationError({"box": [_("Vous n'avez pas cette boîte.")]})
        assigned = params.get("assigned")
        dossiers = queries.dossiers_for_agent(
            request.user, request.organisation, box=params["box"], scope=scope,
            procedure=params.get("procedure"), state=params.get("state"),
            search=params.get("q", ""), label=params.get("label"),
            submitted_from=params.get("submitted_from"),
            submitted_to=params.get("submitted_to"), deadline=params.get("deadline", ""),
            assigned=request.user.pk if assigned == "me" else assigned, sort=params["sort"])
        page = self.paginate_queryset(dossiers)
        return self.get_paginated_response(DossierSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        dossier = self._dossier(pk)
        services.record_dossier_read(actor=request.user, dossier=dossier,
                                     request=request._request)
        return Response(DossierDetailSerializer(dossier, context={"request": request}).data)

    def create(self, request):
        body = DossierCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            definition = queries.procedures_for_agent(
                request.user, request.organisation).select_related(
                "current_version__workflow").get(pk=body.validated_data["procedure"])
        except ProcedureDefinition.DoesNotExist:
            raise exceptions.ValidationError(
                {"procedure": [_("Démarche introuvable parmi celles que vous traitez.")]}
            ) from None
        dossier = services_api.file_on_behalf(
            actor=request.user, definition=definition,
            applicant_email=body.validated_data["applicant_email"],
            answers=body.validated_data["answers"], request=request._request)
        return self._detail(dossier, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Franchir une étape", request=TransitionRequestSerializer,
        description="Applique l'étape `key` au dossier, comme le bouton de la page : rôle "
        "(403 sinon), état de départ, condition et champs demandés (400 avec les erreurs "
        "par `values.<champ>`), verrou optimiste (409 si `lock_version` n'est plus le bon).",
        responses={200: DossierDetailSerializer, **_STALE,
                   **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="transitions")
    def transition(self, request, pk=None):
        dossier = self._dossier(pk)
        body = TransitionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            dossier = workflow.apply_transition(
                actor=request.user, dossier=dossier, key=body.validated_data["key"],
                values=body.validated_data["values"],
                lock_version=body.validated_data["lock_version"], request=request._request)
        except services.StaleDossier as exc:
            raise StaleConflict(
                _("Ce dossier a été modifié depuis votre lecture (version %(version)s) : "
                  "relisez-le avant de recommencer.") % {"version": exc.dossier.lock_version}
            ) from None
        except workflow.TransitionRefused as exc:
            errors: dict[str, list[str]] = {"non_field_errors": exc.messages}
            if exc.form is not None:
                for name, messages in exc.form.errors.items():
                    if name != "__all__":
                        errors[f"values.{name}"] = list(messages)
            raise exceptions.ValidationError(errors) from None
        return self._detail(dossier)

    @extend_schema(
        summary="Écrire au demandeur", request=TextSerializer,
        description="Ajoute un message au fil du dossier ; le demandeur est prévenu.",
        responses={201: MessageSerializer, **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="messages")
    def message(self, request, pk=None):
        dossier = self._dossier(pk)
        body = TextSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = processing.send_agent_message(actor=request.user, dossier=dossier,
                                                body=body.validated_data["body"],
                                                request=request._request)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Ajouter une annotation privée", request=TextSerializer,
        description="Une note entre agents, jamais montrée au demandeur.",
        responses={201: AnnotationSerializer, **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="annotations")
    def annotation(self, request, pk=None):
        dossier = self._dossier(pk)
        body = TextSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = processing.annotate(actor=request.user, dossier=dossier,
                                   body=body.validated_data["body"], request=request._request)
        return Response(AnnotationSerializer(note).data, status=status.HTTP_201_CREATED)

