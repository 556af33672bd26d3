"""Exports of the inbox: the filtered dossiers of one procedure as CSV, ODS or JSON.

An agent asks from the inbox (`request_export`); a Celery task (`tasks_exports.run_export_task`)
calls `run_export`, which applies the inbox's filters again through
`queries.dossiers_for_agent` *with the requester's rights at that moment*, writes the file in
chunks of `CHUNK_SIZE` dossiers (updating `Export.progress` after each) to a temporary file,
then stores it with `store_upload` under the purpose "procedures.export", which only the
requester and the organisation's administrators may read.

Columns: number, state, dates, applicant, assigned agent, labels, then one column per field of
the procedure — the union of the fields of all its versions, in form order, newest label
first (decision 0420). File answers become absolute links to `files:download`, which checks
the reader's rights again. ODS is written by hand (a zip holding `content.xml`, streamed
row by row), so no library is needed (decision 0421).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import logging
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mairie.core.audit.services import record_event
from mairie.core.files.purposes import register_purpose
from mairie.core.files.services import store_upload

from . import queries
from .fieldtypes import get_field_type
from .models import Dossier, Export, ProcedureDefinition, ProcedureVersion
from .schema import _has_input, iter_fields

logger = logging.getLogger(__name__)

EXPORT_PURPOSE = "procedures.export"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
# CSV is detected as text/csv, or as text/plain when it has a single line (no dossier) or a
# long multi-line answer in its first kilobytes; JSON is text.
EXPORT_TYPES = frozenset({"text/csv", "text/plain", ODS_TYPE})
# The instance-wide MAIRIE_UPLOAD_MAX_BYTES still caps it (`files.services.size_limit`).
EXPORT_MAX_BYTES = 1024 * 1024 * 1024
CHUNK_SIZE = 500
# A pending or running export that has not moved for this long lost its worker (or its
# message): it is written again from the start (`stalled_exports`, beat).
STALLED_AFTER = datetime.timedelta(minutes=10)
# The inbox filters an export keeps (the names of `forms_agent.InboxFilterForm`'s fields).
FILTER_NAMES = ("q", "procedure", "state", "label", "assigned", "deadline", "submitted_from",
                "submitted_to", "sort")
EXTENSIONS = {"csv": "csv", "ods": "ods", "json": "json"}


class ExportRefused(ValidationError):
    """The export cannot be made (no procedure chosen, a procedure the agent may not see…)."""


# --- File purpose ------------------------------------------------------------------------------


def can_read_export(user, stored_file) -> bool:
    """The agent who asked for the export, and the organisation's administrators."""
    from mairie.core.organisation.queries import is_org_administrator

    if not getattr(user, "is_authenticated", False):
        return False
    if Export.objects.filter(organisation_id=stored_file.organisation_id,
                             stored_file=stored_file, requested_by=user).exists():
        return True
    return is_org_administrator(user, stored_file.organisation)


NOTIFICATION_KIND = "procedures.export_ready"


def register_export_purpose() -> None:
    from mairie.core.notifications.kinds import register_kind

    register_purpose(EXPORT_PURPOSE, allowed=EXPORT_TYPES, max_bytes=EXPORT_MAX_BYTES,
                     label=gettext_lazy("Export de dossiers"), can_read=can_read_export)
    register_kind(NOTIFICATION_KIND, gettext_lazy("Exports de dossiers"),
                  description=gettext_lazy("Quand un export que vous avez demandé est prêt "
                                           "à télécharger, ou a échoué."),
                  for_residents=False)


def _tell_requester(export: Export) -> None:
    """The requester learns that the file is ready (or why it failed) wherever they are: the
    export may take minutes and they have left the page."""
    from mairie.core.notifications.services import notify

    if export.requested_by is None or not export.requested_by.is_active:
        return
    if export.status == Export.Status.DONE:
        title = ngettext("Votre export de %(n)s dossier est prêt",
                         "Votre export de %(n)s dossiers est prêt", export.total) % {
            "n": export.total}
    else:
        title = _("Votre export de dossiers a échoué")
    notify(organisation=export.organisation, recipients=[export.requested_by],
           kind=NOTIFICATION_KIND, title=title, body=export.error[:300],
           url=reverse("procedures:exports"))


# --- Asking for an export ----------------------------------------------------------------------


def clean_filters(data) -> dict[str, str]:
    """The box and inbox filters of a query string, as typed (unknown names dropped)."""
    kept = {name: str(data.get(name) or "").strip()[:200] for name in ("box", *FILTER_NAMES)}
    return {name: value for name, value in kept.items() if value}


@transaction.atomic
def request_export(*, actor, organisation, definition: ProcedureDefinition, format: str,
                   filters: dict, base_url: str = "",
                   request: HttpRequest | None = None) -> Export:
    """Record the request (audited) and queue its generation once committed. `definition`
    must be one of the procedures the inbox offers `actor` (`queries.procedures_for_agent`)."""
    if format not in Export.Format.values:
        raise ExportRefused(_("Choisissez un format d'export."))
    if definition is None or not queries.procedures_for_agent(actor, organisation).filter(
            pk=definition.pk).exists():
        raise ExportRefused(_("Choisissez la démarche dont vous voulez exporter les dossiers."))
    filters = {**clean_filters(filters), "procedure": str(definition.pk)}
    export = Export.objects.create(organisation=organisation, requested_by=actor,
                                   definition=definition, format=format, filters=filters,
                                   base_url=base_url[:200])
    record_event(organisation=organisation, action="procedures.export_requested", actor=actor,
                 obj=export, object_label=definition.title, request=request,
                 details={"format": format, "filters": filters,
                          "procedure": str(definition.pk)})
    from .tasks_exports import run_export_task

    export_id = str(export.pk)
    transaction.on_commit(lambda: run_export_task.delay(export_id))
    return export


def record_export_download(*, actor, export: Export, request: HttpRequest | None = None
                           ) -> None:
    record_event(organisation=export.organisation, action="procedures.export_downloaded",
                 actor=actor, obj=export,
                 object_label=export.definition.title if export.definition else "",
                 request=request, details={"format": export.format,
                                           "file": str(export.stored_file_id)})


# --- Columns -----------------------------------------------------------------------------------


def field_columns(versions: Iterable[ProcedureVersion]) -> list[tuple[str, str]]:
    """(key, label) of every field that takes an answer in any of `versions`: the newest
    version's fields in form order first, then the fields only older versions had."""
    columns: dict[str, str] = {}
    for version in sorted(versions, key=lambda v: -v.number):
        for _page, field in iter_fields(version.schema):
            key = field.get("key")
            if isinstance(key, str) and _has_input(field) and key not in columns:
                columns[key] = str(field.get("label") or key)
    return list(columns.items())


def base_columns() -> list[tuple[str, str]]:
    return [
        ("number", _("Numéro")),
        ("state", _("État")),
        ("submitted_at", _("Déposé le")),
        ("deadline_at", _("Échéance")),
        ("decided_at", _("Décidé le")),
        ("applicant", _("Demandeur")),
        ("applicant_email", _("Courriel du demandeur")),
        ("assigned_to", _("Agent chargé")),
        ("labels", _("Étiquettes")),
    ]


class RowBuilder:
    """Turns a dossier into the export's cells (Python values: str, Decimal, date, datetime,
    a list of links, or None), with the field specs of each version read once."""

    def __init__(self, versions: Iterable[ProcedureVersion], base_url: str) -> None:
        versions = list(versions)
        self.fields = field_columns(versions)
        self.columns = [*base_columns(), *[(f"champ:{key}", label)
                                           for key, label in self.fields]]
        self.base_url = base_url.rstrip("/")
        self.specs: dict[Any, dict[str, dict]] = {}
        for version in versions:
            specs = self.specs.setdefault(version.pk, {})
            for _page, field in iter_fields(version.schema):
                if isinstance(field.get("key"), str) and _has_input(field):
                    specs[field["key"]] = field

    def file_link(self, value: Any) -> str | None:
        try:
            file_id = uuid.UUID(str(value))
        except ValueError:
            return None
        return self.base_url + reverse("files:download", args=[file_id])

    def field_value(self, spec: dict | None, value: Any) -> Any:
        if spec is None or value is None or value == "" or value == []:
            return None
        kind = spec.get("type", "")
        if kind == "file":
            links = [self.file_link(v) for v in (value if isinstance(value, list) else [value])]
            return [link for link in links if link]
        if kind == "number":
            try:
                return decimal.Decimal(str(value))
            except decimal.InvalidOperation:
                return str(value)
        if kind == "date":
            try:
                return datetime.date.fromisoformat(str(value))
            except ValueError:
                return str(value)
        try:
            return get_field_type(kind).display(value, spec)
        except KeyError:
            return str(value)

    def row(self, dossier: Dossier) -> list[Any]:
        applicant = dossier.applicant
        assignee = dossier.assigned_to
        specs = self.specs.get(dossier.version_id, {})
        data = dossier.data if isinstance(dossier.data, dict) else {}
        return [
            dossier.number,
            dossier.state_label,
            dossier.submitted_at,
            dossier.deadline_at,
            dossier.decided_at,
            (applicant.get_full_name() or applicant.email) if applicant else None,
            (applicant.email if applicant else dossier.applicant_email) or None,
            (assignee.get_full_name() or assignee.email) if assignee else None,
            ", ".join(label.name for label in dossier.labels.all()) or None,
            *[self.field_value(specs.get(key), data.get(key)) for key, _label in self.fields],
        ]


# --- Writers -----------------------------------------------------------------------------------

# C0 controls (but tab, line feed, carriage return) and DEL: XML cannot carry them and the
# files module refuses text that contains them.
_CONTROLS = {code: None for code in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}


def _text(value: str) -> str:
    return value.translate(_CONTROLS)


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _french_decimal(value: decimal.Decimal) -> str:
    return format(value, "f").replace(".", ",")


class CsvWriter:
    """French spreadsheet CSV: UTF-8 with a byte-order mark, ";" separated, decimal commas,
    dates as dd/mm/yyyy. A text cell starting like a formula is prefixed with an apostrophe
    so that a spreadsheet shows it instead of running it (decision 0420)."""

    def __init__(self, stream, columns) -> None:
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.text, delimiter=";")
        self.writer.writerow([_text(str(label)) for _key, label in columns])

    @staticmethod
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, list):
            return "\n".join(_text(str(item)) for item in value)
        if isinstance(value, decimal.Decimal):
            return _french_decimal(value)
        if isinstance(value, datetime.datetime):
            return _local(value).strftime("%d/%m/%Y %H:%M")
        if isinstance(value, datetime.date):
            return value.strftime("%d/%m/%Y")
        text = _text(str(value))
        if text[:1] in ("=", "+", "-", "@"):
            text = "'" + text
        return text

    def write(self, row: list[Any]) -> None:
        self.writer.writerow([self.cell(value) for value in row])

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


class JsonWriter:
    """{"procedure": …, "columns": [{"key", "label"}], "dossiers": [{key: value}]}; numbers
    stay numbers, dates are ISO 8601, files are lists of links."""

    def __init__(self, stream, columns, *, procedure: str) -> None:
        self.stream = stream
        self.keys = [key for key, _label in columns]
        self.first = True
        head = json.dumps({"procedure": procedure,
                           "columns": [{"key": key, "label": str(label)}
                                       for key, label in columns]}, ensure_ascii=False)
        self._write(head[:-1] + ', "dossiers": [\n')

    def _write(self, text: str) -> None:
        # "<", ">" and "&" escaped: the text never looks like markup to the content check.
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        self.stream.write(_text(text).encode())

    @staticmethod
    def value(value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, datetime.datetime):
            return _local(value).isoformat()
        if isinstance(value, datetime.date):
            return value.isoformat()
        return value

    def write(self, row: list[Any]) -> None:
        item = {key: self.value(value) for key, value in zip(self.keys, row, strict=True)}
        self._write(("" if self.first else ",\n") + json.dumps(item, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self._write("\n]}\n")


_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
    ' manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_TYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    '</manifest:manifest>')
_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<office:document-content'
    ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    ' office:version="1.2"><office:body><office:spreadsheet>'
    '<table:table table:name={name}>')
_ODS_TAIL = '</table:table></office:spreadsheet></office:body></office:document-content>'


class OdsWriter:
    """An OpenDocument spreadsheet, one sheet: the zip's `mimetype` first and uncompressed
    (how readers and content detection recognise it), then `content.xml` streamed."""

    def __init__(self, stream, columns, *, sheet: str) -> None:
        self.zip = zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED)
        self.zip.writestr(zipfile.ZipInfo("mimetype"), ODS_TYPE,
                          compress_type=zipfile.ZIP_STORED)
        self.zip.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        self.content = self.zip.open("content.xml", "w", force_zip64=True)
        self._write(_ODS_HEAD.format(name=quoteattr(_text(sheet)[:100] or "Export")))
        self._write("<table:table-row>" + "".join(self.cell(str(label))
                                                  for _key, label in columns)
                    + "</table:table-row>")

    def _write(self, text: str) -> None:
        self.content.write(text.encode())

    @staticmethod
    def cell(value: Any) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, decimal.Decimal):
            return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{_french_decimal(value)}</text:p></table:table-cell>")
        if isinstance(value, datetime.datetime):
            local = _local(value).replace(tzinfo=None, microsecond=0)
            return (f'<table:table-cell office:value-type="date" '
                    f'office:date-value="{local.isoformat()}">'
                    f'<text:p>{local.strftime("%d/%m/%Y %H:%M")}</text:p></table:table-cell>')
        if isinstance(value, datetime.date):
            return (f'<table:table-cell office:value-type="date" '
                    f'office:date-value="{value.isoformat()}">'
                    f'<text:p>{value.strftime("%d/%m/%Y")}</text:p></table:table-cell>')
        lines = value if isinstance(value, list) else str(value).split("\n")
        paragraphs = "".join(f"<text:p>{escape(_text(str(line)))}</text:p>" for line in lines)
        return f'<table:table-cell office:value-type="string">{paragraphs}</table:table-cell>'

    def write(self, row: list[Any]) -> None:
        self._write("<table:table-row>" + "".join(self.cell(value) for value in row)
                    + "</table:table-row>")

    def close(self) -> None:
        self._write(_ODS_TAIL)
        self.content.close()
        self.zip.close()


def _writer(export: Export, stream, columns):
    title = export.definition.title if export.definition else ""
    if export.format == Export.Format.CSV:
        return CsvWriter(stream, columns)
    if export.format == Export.Format.ODS:
        return OdsWriter(stream, columns, sheet=title)
    return JsonWriter(stream, columns, procedure=title)


# --- Generating --------------------------------------------------------------------------------


def export_queryset(export: Export):
    """The dossiers of the export, with the requester's rights now (never wider than what the
    inbox shows them: same query, same filters, the export's procedure imposed)."""
    from .forms_agent import InboxFilterForm

    user, organisation = export.requested_by, export.organisation
    if user is None or not user.is_active:
        raise ExportRefused(_("Le compte qui a demandé l'export n'est plus actif."))
    scope = queries.AgentScope(user, organisation)
    procedures = list(queries.procedures_for_agent(user, organisation, scope=scope)
                      .select_related("current_version__workflow"))
    if export.definition_id not in {procedure.pk for procedure in procedures}:
        raise ExportRefused(_("Vous n'avez plus accès aux dossiers de cette démarche."))
    filters = dict(export.filters or {})
    box = filters.get("box") or queries.DEFAULT_BOX
    if box not in scope.boxes:
        box = queries.DEFAULT_BOX
    form = InboxFilterForm(filters, procedures=procedures,
                           labels=queries.labels_for_agent(organisation, procedures),
                           agents=queries.agents_of(organisation))
    cleaned = form.filters()
    assigned = cleaned.get("assigned")
    return queries.dossiers_for_agent(
        user, organisation, box=box, scope=scope, procedure=export.definition_id,
        state=cleaned.get("state"), search=cleaned.get("q", ""), label=cleaned.get("label"),
        submitted_from=cleaned.get("submitted_from"),
        submitted_to=cleaned.get("submitted_to"), deadline=cleaned.get("deadline", ""),
        assigned=user.pk if assigned == "me" else assigned, sort=form.sort_key)


def _claim(export_id) -> Export | None:
    """Mark the export running (again, if a worker died while writing it: the file is
    written from the start, nothing was stored yet); None when it is already finished."""
    with transaction.atomic():
        export = (Export.objects.select_for_update(of=("self",)).select_related(
            "organisation", "requested_by", "definition").filter(pk=export_id).first())
        if export is None or export.status in (Export.Status.DONE, Export.Status.FAILED):
            return None
        export.status, export.progress, export.error = Export.Status.RUNNING, 0, ""
        export.started_at = timezone.now()
        export.save(update_fields=["status", "progress", "error", "started_at", "updated_at"])
    return export


def _chunks(queryset, size: int) -> Iterator[list[Dossier]]:
    chunk: list[Dossier] = []
    for dossier in queryset.iterator(chunk_size=size):
        chunk.append(dossier)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_export(export_id) -> Export | None:
    """Write and store the export; its status says how it went (an error is kept, in French,
    for the requester). Safe to run twice: a finished export is left alone."""
    from mairie.core.notifications.emails import site_url

    export = _claim(export_id)
    if export is None:
        return None
    try:
        with timezone.override(export.organisation.time_zone or None):
            dossiers = export_queryset(export)
            total = dossiers.count()
            Export.objects.filter(pk=export.pk).update(total=total)
            versions = ProcedureVersion.objects.filter(definition_id=export.definition_id)
            rows = RowBuilder(versions, export.base_url or site_url(export.organisation))
            with tempfile.TemporaryFile() as stream:
                writer = _writer(export, stream, rows.columns)
                written = 0
                for chunk in _chunks(dossiers, CHUNK_SIZE):
                    for dossier in chunk:
                        writer.write(rows.row(dossier))
                    written += len(chunk)
                    Export.objects.filter(pk=export.pk).update(progress=written,
                                                               updated_at=timezone.now())
                writer.close()
                stream.seek(0)
                stored = store_upload(actor=export.requested_by,
                                      organisation=export.organisation,
                                      uploaded_file=File(stream, name=file_name(export)),
                                      purpose=EXPORT_PURPOSE)
    except ValidationError as error:
        if getattr(error, "code", "") == "file_type" and export.format == Export.Format.CSV:
            # The content check saw markup in the first answers (e.g. "<script>" typed by an
            # applicant): CSV cannot escape it, ODS and JSON can.
            return _fail(export, _("Certaines réponses contiennent du texte qui ressemble à "
                                   "une page web : le CSV est refusé par sécurité. Choisissez "
                                   "le format ODS ou JSON pour cet export."))
        return _fail(export, " ".join(error.messages))
    except Exception:
        logger.exception("Export %s failed", export.pk)
        return _fail(export, _("Une erreur inattendue a interrompu l'export. Réessayez ; si "
                               "elle se reproduit, prévenez l'administrateur."))
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.DONE, stored_file=stored, progress=total, total=total,
        finished_at=timezone.now(), updated_at=timezone.now())
    export.refresh_from_db()
    _tell_requester(export)
    return export


def stalled_exports() -> list[str]:
    """Ids of the exports, pending or running, that have not moved for `STALLED_AFTER`: their
    worker died (a message unacknowledged waits for the broker's visibility timeout, an hour
    on Redis) or their message was lost."""
    limit = timezone.now() - STALLED_AFTER
    return [str(pk) for pk in Export.objects
            .filter(status__in=[Export.Status.PENDING, Export.Status.RUNNING],
                    updated_at__lt=limit)
            .order_by("created_at").values_list("pk", flat=True)]


def _fail(export: Export, message: str) -> Export:
    Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error=message,
                                               finished_at=timezone.now(),
                                               updated_at=timezone.now())
    export.refresh_from_db()
    _tell_requester(export)
    return export


def file_name(export: Export) -> str:
    slug = export.definition.slug if export.definition else "dossiers"
    moment = timezone.localtime(export.created_at).strftime("%Y-%m-%d-%H%M")
    return f"export-{slug}-{moment}.{EXTENSIONS[export.format]}"


# --- Reads -------------------------------------------------------------------------------------


def exports_of(user, organisation):
    """The exports `user` asked for in `organisation`, newest first."""
    if (not getattr(user, "is_authenticated", False) or organisation is None
            or user.organisation_id != organisation.pk):
        return Export.objects.none()
    return (Export.objects.filter(organisation=organisation, requested_by=user)
            .select_related("definition", "stored_file").order_by("-created_at", "-pk"))
