"""The workflow engine: which transitions an agent (or the applicant) may take on a dossier,
and taking one (guards, required fields, actions, validations, generated documents)."""

from __future__ import annotations


def agent_context(request, dossier) -> dict:
    """Context of `procedures/agent/_workflow.html` on the agent's dossier page."""
    return {}


def applicant_context(request, dossier) -> dict:
    """Context of `procedures/_applicant_workflow.html` on the applicant's dossier page."""
    return {}
