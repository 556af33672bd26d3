"""The PDF receipt of a submitted dossier, rendered by WeasyPrint (decision record 0310).

WeasyPrint turns an HTML template into a tagged PDF (PDF/UA variant): screen readers read the
receipt in order, with its headings and its table of answers. No network access: the template
uses no external resource and the URL fetcher refuses everything.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from . import schema as schema_helpers
from .models import Dossier


def _no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"The receipt fetches no external resource ({url!r}).")


def render_receipt(dossier: Dossier, *, files: list) -> bytes:
    import weasyprint

    html = render_to_string("procedures/receipt_pdf.html", {
        "dossier": dossier, "definition": dossier.version.definition,
        "organisation": dossier.organisation,
        "answers": schema_helpers.answers_summary(dossier.version.schema, dossier.data),
        "files": files, "generated_at": timezone.now(),
    })
    document = weasyprint.HTML(string=html, url_fetcher=_no_fetch)
    return document.write_pdf(pdf_variant="pdf/ua-1")
