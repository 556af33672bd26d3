"""What each module declares about the personal data it processes (GDPR art. 30), and how
to export one person's data from it (art. 15 and 20).

A module registers its `ProcessingActivity` in its `AppConfig.ready()`; the register of
processing activities shown to administrators and the resident's "Mes données" export are
both built from here, so a module added later appears in both by declaring itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

Exporter = Callable[[Any, Any], list[dict[str, Any]]]  # (user, organisation) → rows
# (user, organisation) → {"erased": [what went], "kept": [what stays, and under which rule]}
Eraser = Callable[[Any, Any], dict[str, list[str]]]


@dataclass(frozen=True)
class ProcessingActivity:
    key: str
    name: str | Promise
    purpose: str | Promise
    legal_basis: str | Promise
    data_subjects: str | Promise
    data_categories: str | Promise
    recipients: str | Promise
    retention: str | Promise
    security: str | Promise
    # One person's rows (plain JSON values), or None when nothing is kept per person.
    export: Exporter | None = field(default=None, compare=False)
    # What an erasure request does here (DPO's register, `services.erase`), or None.
    erase: Eraser | None = field(default=None, compare=False)
    module: str = ""


_activities: dict[str, ProcessingActivity] = {}


def register(activity: ProcessingActivity) -> ProcessingActivity:
    existing = _activities.get(activity.key)
    if existing is not None and existing != activity:
        raise ValueError(f"Processing activity {activity.key!r} declared twice differently.")
    _activities[activity.key] = activity
    return activity


def iso(value) -> str | None:
    """A date or time for an export row (ISO 8601), None when there is none."""
    return value.isoformat() if value else None


def activities() -> list[ProcessingActivity]:
    return sorted(_activities.values(), key=lambda a: (a.module, str(a.name)))
