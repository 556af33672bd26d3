"""Shared set-up of the API and webhook tests: a procedure whose workflow has a guarded step
and a step asking for a motivation, submitted dossiers, tokens, and a real HTTP receiver."""

import copy
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mairie.api.services import create_token
from mairie.procedures.models import Audience, ProcedureDefinition, Theme, Workflow
from mairie.procedures.services import publish_version

from .agent_helpers import file_dossier
from .conftest import SCHEMA

API_WORKFLOW = {
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted"},
        {"key": "accepte", "label": "Accepté", "kind": "final"},
        {"key": "refuse", "label": "Refusé", "kind": "final"},
    ],
    "transitions": [
        {"key": "accepter", "label": "Accepter", "from": "depose", "to": "accepte",
         "role": "instructor", "guard": "age >= 18",
         "guard_message": "Le demandeur doit être majeur."},
        {"key": "refuser", "label": "Refuser", "from": "depose", "to": "refuse",
         "role": "instructor", "required_fields": ["motivation"]},
    ],
}


def make_api_procedure(organisation, service, *, actor=None, slug="aide-api",
                       title="Aide par l'API"):
    workflow = Workflow.objects.create(organisation=organisation, name="Circuit API",
                                       **copy.deepcopy(API_WORKFLOW))
    theme, _ = Theme.objects.get_or_create(organisation=organisation, slug="social",
                                           defaults={"name": "Solidarité"})
    definition = ProcedureDefinition.objects.create(
        organisation=organisation, slug=slug, title=title, service=service, theme=theme,
        audience=Audience.RESIDENTS)
    publish_version(actor=actor, definition=definition, schema=copy.deepcopy(SCHEMA),
                    workflow=workflow)
    definition.refresh_from_db()
    return definition


def token_for(user, scopes=("read", "write")) -> dict:
    """The request headers of a fresh token of `user` with `scopes`."""
    _token, raw = create_token(actor=user, organisation=user.organisation, name="Outil",
                               scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it receives and answers the status
    codes queued in `answers` (200 once they run out)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: queue.Queue[int] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 — the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                try:
                    code = receiver.answers.get_nowait()
                except queue.Empty:
                    code = 200
                answer = json.dumps({"received": code < 300}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/mairie/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()



__all__ = ["API_WORKFLOW", "Receiver", "file_dossier", "make_api_procedure",
           "token_for"]
