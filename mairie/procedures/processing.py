"""Processing around the workflow: assignment, labels, messages, private annotations, expert
opinions and correction requests. Every write runs in a transaction and is audited."""

from __future__ import annotations


def agent_context(request, dossier) -> dict:
    """Context of `procedures/agent/_processing.html` on the agent's dossier page."""
    return {}
