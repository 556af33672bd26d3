"""Reads of the DPO's register of requests, for those who handle them only."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from .models import PrivacyRequest
from .services import may_handle_requests


def requests_for(user, organisation) -> QuerySet[PrivacyRequest]:
    if not may_handle_requests(user, organisation):
        return PrivacyRequest.objects.none()
    return PrivacyRequest.objects.filter(organisation=organisation).select_related(
        "handled_by", "account")


def request_for(user, organisation, pk) -> PrivacyRequest:
    found = requests_for(user, organisation).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found
