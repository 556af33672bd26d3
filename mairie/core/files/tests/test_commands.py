"""Operator commands: `files ping-scanner` and `files sweep`."""

import io
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from mairie.core.files.services import store_upload
from mairie.core.files.testing import FakeClamd, pdf_bytes, unused_tcp_url, upload


def _run(*args) -> str:
    out = io.StringIO()
    call_command("files", *args, stdout=out)
    return out.getvalue()


def test_ping_scanner_reports_up_and_down(settings):
    with FakeClamd() as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        assert "OK  l'antivirus répond" in _run("ping-scanner")
    settings.MAIRIE_CLAMD_URL = unused_tcp_url()
    with pytest.raises(CommandError, match="ne répond pas"):
        _run("ping-scanner")


@pytest.mark.django_db
def test_sweep_removes_old_bytes_without_a_row_only(resident, organisation, attachment_purpose,
                                                    _media_root):
    kept = store_upload(actor=resident, organisation=organisation, purpose=attachment_purpose,
                        uploaded_file=upload("a.pdf", pdf_bytes()))
    orphan = default_storage.save(f"files/{organisation.pk}/ab/orphan", ContentFile(b"x"))
    recent = default_storage.save(f"files/{organisation.pk}/ab/recent", ContentFile(b"y"))
    old = time.time() - 7 * 3600
    for name in (kept.file.name, orphan):
        os.utime(default_storage.path(name), (old, old))

    assert orphan in _run("sweep", "--dry-run") and default_storage.exists(orphan)
    output = _run("sweep")
    assert "1 fichier(s) orphelin(s) supprimé(s)" in output
    assert not default_storage.exists(orphan)
    assert default_storage.exists(kept.file.name) and default_storage.exists(recent)
