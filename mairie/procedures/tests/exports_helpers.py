"""A procedure with two published versions (the second adds a question and renames one), its
dossiers with a file answer, and helpers to request an export and read it back."""

import copy
import csv
import io
import json
import zipfile
from xml.etree import ElementTree

from django.urls import reverse

from mairie.core.files.services import store_upload
from mairie.core.files.testing import pdf_bytes, upload
from mairie.procedures.fieldtypes import FILE_PURPOSE
from mairie.procedures.models import DossierFile, Export
from mairie.procedures.services import publish_version

from .agent_helpers import file_dossier
from .conftest import SCHEMA, make_procedure, make_workflow

EXPORT_NEW = reverse("procedures:export-new")
EXPORTS = reverse("procedures:exports")


def second_schema():
    schema = copy.deepcopy(SCHEMA)
    schema["pages"][0]["fields"][0]["label"] = "Nom de famille"
    schema["pages"][1]["fields"].append(
        {"key": "motif", "type": "textarea", "label": "Motif de la demande", "required": False})
    return schema


def two_version_procedure(organisation, service, administrator, **extra):
    """Version 1 = conftest.SCHEMA; version 2 renames "nom" and adds "motif"."""
    procedure = make_procedure(organisation, service, actor=administrator, **extra)
    publish_version(actor=administrator, definition=procedure, schema=second_schema(),
                    workflow=make_workflow(organisation))
    procedure.refresh_from_db()
    return procedure


def dossier_with_file(procedure, resident, *, number, version=None, data=None):
    stored = store_upload(actor=resident, organisation=procedure.organisation,
                          uploaded_file=upload("avis.pdf", pdf_bytes(), "application/pdf"),
                          purpose=FILE_PURPOSE)
    answers = {"nom": "Martin", "age": 42, "situation": "couple", "conjoint": "Durand",
               "courriel": "m@example.org", "piece": str(stored.pk), **(data or {})}
    dossier = file_dossier(procedure, resident, number=number, data=answers)
    if version is not None:
        dossier.version = version
        dossier.save(update_fields=["version"])
    DossierFile.objects.create(organisation=procedure.organisation, dossier=dossier,
                               field_key="piece", stored_file=stored)
    return dossier, stored


def ask(client, capture, *, format="csv", **filters):
    """Post the export form as the inbox's "Exporter" link leads to it; the task runs on
    commit (eagerly in tests). Returns the newest export of the logged-in agent."""
    with capture(execute=True):
        response = client.post(EXPORT_NEW, {"format": format, **filters})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == EXPORTS
    return Export.objects.latest("created_at")


def content_of(client, export) -> bytes:
    response = client.get(reverse("procedures:export-download", args=[export.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # byte-order mark: Excel reads UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def read_json(data: bytes) -> dict:
    return json.loads(data.decode())


ODS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
       "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
       "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0"}


def read_ods(data: bytes) -> list[list[dict]]:
    """Rows of cells {"text", "type", "value"} from the zip's content.xml."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist()[0] == "mimetype"
    assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    root = ElementTree.fromstring(archive.read("content.xml"))
    rows = []
    for row in root.iter(f"{{{ODS['table']}}}table-row"):
        cells = []
        for cell in row.findall(f"{{{ODS['table']}}}table-cell"):
            paragraphs = ["".join(p.itertext()) for p in cell.findall(f"{{{ODS['text']}}}p")]
            cells.append({"text": "\n".join(paragraphs),
                          "type": cell.get(f"{{{ODS['office']}}}value-type"),
                          "value": cell.get(f"{{{ODS['office']}}}value")
                          or cell.get(f"{{{ODS['office']}}}date-value")})
        rows.append(cells)
    return rows
