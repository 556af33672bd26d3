"""Downloading a stored file, after the permission check."""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.views.decorators.http import require_safe

from .delivery import file_response
from .queries import file_for
from .services import record_download


@require_safe
def download(request, pk):
    """Anonymous visitors asking for anything but a public file are sent to the login page,
    whether the file exists or not (the answer tells nothing); signed-in users who may not
    read it get a 404, as if it did not exist."""
    stored = file_for(request.user, request.organisation, pk)
    if stored is None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404
    if not stored.is_public and stored.uploaded_by_id != request.user.pk:
        record_download(actor=request.user, stored_file=stored, request=request)
    # "?apercu=1": open a PDF in the browser rather than download it (audited the same way).
    return file_response(stored, inline=request.GET.get("apercu") == "1")
