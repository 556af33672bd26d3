"""One JSON shape for every API error, with French messages.

    {"status": 403, "code": "scope_missing", "detail": "Ce jeton n'a pas la portée …"}
    {"status": 400, "code": "invalid", "detail": "Les données envoyées ne sont pas valides.",
     "errors": {"first_name": ["150 caractères au plus."]}}

`code` is stable and meant for programs; `detail` is meant for people and may change.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # Services raise Django's ValidationError; the API reports it like a serializer's.
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {"status": response.status_code, "code": "invalid",
                "detail": _("Les données envoyées ne sont pas valides."),
                "errors": _field_errors(response.data)}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"status": response.status_code, "code": code, "detail": str(detail)}
    response.data = body
    return response


def _field_errors(data):
    if isinstance(data, list):
        return {"non_field_errors": data}
    return data


def not_found(request, *args, **kwargs):
    """Unknown addresses under /api/ answer JSON like the rest of the API, not an HTML page."""
    detail = _("Adresse inconnue dans l'API.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            detail = _("Adresse inconnue dans l'API : les adresses se terminent par « / » "
                       "(%(path)s).") % {"path": request.path + "/"}
    return JsonResponse({"status": 404, "code": "not_found", "detail": detail}, status=404,
                        json_dumps_params={"ensure_ascii": False})
