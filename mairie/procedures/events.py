"""How each kind of timeline event (`DossierEvent.kind`) reads, for agents and applicants.

One registry, two sections: the engine's kinds (transitions, validations, documents) and the
processing kinds (messages, corrections, opinions…). Templates call `describe(event)`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from .models import DossierEvent

Describer = Callable[[DossierEvent], str]

# --- Filing --------------------------------------------------------------------------------
DESCRIBERS: dict[str, Describer] = {
    "started": lambda event: _("Dossier commencé"),
    "submitted": lambda event: _("Dossier déposé"),
}

# --- Workflow engine (workflow.py) ----------------------------------------------------------

# --- Processing (processing.py) -------------------------------------------------------------


def describe(event: DossierEvent) -> str:
    describer = DESCRIBERS.get(event.kind)
    return describer(event) if describer else event.kind
