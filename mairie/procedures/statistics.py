"""Statistics of the dossiers an agent may see, per procedure and per service: dossiers received
per week (last 12 weeks), by state, median processing time, share processed within the
deadline, backlog; and the geometry of their server-side SVG charts.

Every figure comes from aggregate SQL queries: their number does not depend on the number of
dossiers. The median is `percentile_cont` on PostgreSQL; on SQLite (a small commune's embedded
mode) it is computed in Python over the durations of the dossiers decided in the period only
(decision 0422). A dossier is "processed within the deadline" when it was decided within the
sum of the `deadline_days` of its workflow's processing states (submitted, instruction,
validation) after its submission; workflows without deadline are left out of that share.
"""

from __future__ import annotations

import datetime
import statistics as pystats
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.organisation.models import Service

from . import queries
from .models import Dossier, ProcedureDefinition, Workflow

WEEKS = 12
# States whose time counts against the processing deadline (waiting for the applicant does not).
DEADLINE_KINDS = ("submitted", "instruction", "validation")


class Median(Aggregate):
    """PostgreSQL's median of an interval."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def _duration():
    return ExpressionWrapper(F("decided_at") - F("submitted_at"), output_field=DurationField())


@dataclass
class Statistics:
    start: datetime.datetime
    weeks: list[tuple[datetime.date, int]]
    states: list[dict]
    received: int = 0
    backlog: int = 0
    decided: int = 0
    with_deadline: int = 0
    within_deadline: int = 0
    median: datetime.timedelta | None = None
    procedures: list[dict] = field(default_factory=list)

    @property
    def within_share(self) -> int | None:
        """Percentage (rounded) of the decided dossiers with a deadline decided in time."""
        if not self.with_deadline:
            return None
        return round(self.within_deadline * 100 / self.with_deadline)


# --- Scope -------------------------------------------------------------------------------------


def statistics_scope(user, organisation, *, scope: queries.AgentScope | None = None) -> Q | None:
    """Dossiers counted for `user`: those of the procedures on which they play a workflow role;
    every one for directors and administrators. None: nothing."""
    scope = scope or queries.AgentScope(user, organisation)
    if not scope.is_agent:
        return None
    if scope.may_see_all:
        return Q()
    return Q(version_id__in=scope.role_versions) if scope.role_versions else None


def procedures_for_statistics(user, organisation, *, scope: queries.AgentScope | None = None
                              ) -> QuerySet[ProcedureDefinition]:
    scope = scope or queries.AgentScope(user, organisation)
    qs = (ProcedureDefinition.objects.filter(organisation=organisation)
          .select_related("service").order_by("title"))
    if scope.may_see_all:
        return qs
    return qs.filter(pk__in=scope.definition_ids)


def services_of(procedures) -> list[Service]:
    """The services owning `procedures` (already loaded with their service), by name."""
    found = {procedure.service_id: procedure.service for procedure in procedures}
    return sorted(found.values(), key=lambda service: service.name.lower())


def dossiers_for_statistics(user, organisation, *, procedures, scope=None) -> QuerySet[Dossier]:
    """Submitted dossiers of `procedures` (a list the agent may see) within the agent's scope."""
    condition = statistics_scope(user, organisation, scope=scope)
    if condition is None or not procedures:
        return Dossier.objects.none()
    return (Dossier.objects.filter(organisation=organisation, submitted_at__isnull=False,
                                   version__definition_id__in=[p.pk for p in procedures])
            .filter(condition).order_by())


# --- Figures -----------------------------------------------------------------------------------


def period_start(now: datetime.datetime) -> datetime.datetime:
    """Monday 00:00 (local time) of the week 11 weeks before the current one."""
    local = timezone.localtime(now)
    monday = local.date() - datetime.timedelta(days=local.weekday() + 7 * (WEEKS - 1))
    return timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))


def _workflow_facts(workflows) -> tuple[dict, dict]:
    """({workflow id: deadline in days}, {workflow id: open state keys})."""
    deadlines, open_states = {}, {}
    for workflow in workflows:
        days = sum(int(state.get("deadline_days") or 0) for state in workflow.states
                   if state.get("kind") in DEADLINE_KINDS
                   and str(state.get("deadline_days") or "0").isdigit())
        if days:
            deadlines[workflow.pk] = days
        open_states[workflow.pk] = tuple(sorted(
            state["key"] for state in workflow.states
            if state.get("key") and state.get("kind") not in ("final", "draft")))
    return deadlines, open_states


def _grouped(mapping: dict) -> dict:
    """{value: [keys]} from {key: value}."""
    groups: dict = {}
    for key, value in mapping.items():
        groups.setdefault(value, []).append(key)
    return groups


def compute(dossiers: QuerySet[Dossier], *, procedures, now=None) -> Statistics:
    """The figures of `dossiers` (from `dossiers_for_statistics`), in 5 queries (6 on
    PostgreSQL: the overall median is one more), whatever the number of dossiers."""
    now = now or timezone.now()
    start = period_start(now)
    workflows = list(Workflow.objects.filter(
        versions__definition__in=[p.pk for p in procedures]).distinct()
        .only("pk", "states"))
    deadlines, open_states = _workflow_facts(workflows)
    open_q = Q(pk__in=[])
    for keys, workflow_ids in _grouped(open_states).items():
        open_q |= Q(version__workflow_id__in=workflow_ids, state__in=keys)
    decided_q = Q(decided_at__gte=start, decided_at__isnull=False)
    deadline_q = Q(pk__in=[])
    within_q = Q(pk__in=[])
    for days, workflow_ids in _grouped(deadlines).items():
        deadline_q |= Q(version__workflow_id__in=workflow_ids)
        within_q |= Q(version__workflow_id__in=workflow_ids,
                      decided_at__lte=F("submitted_at") + datetime.timedelta(days=days))

    # 1. Per procedure: received in the period, backlog, decided, within the deadline.
    rows = (dossiers.values("version__definition_id")
            .annotate(received=Count("pk", filter=Q(submitted_at__gte=start)),
                      backlog=Count("pk", filter=open_q),
                      decided=Count("pk", filter=decided_q),
                      with_deadline=Count("pk", filter=decided_q & deadline_q),
                      within_deadline=Count("pk", filter=decided_q & within_q)))
    by_procedure = {row["version__definition_id"]: row for row in rows}

    # 2. Received per week.
    counted = dict(dossiers.filter(submitted_at__gte=start)
                   .annotate(week=TruncWeek("submitted_at"))
                   .values("week").annotate(n=Count("pk")).values_list("week", "n"))
    per_week = {}
    for week, n in counted.items():
        day = timezone.localtime(week).date() if isinstance(week, datetime.datetime) else week
        per_week[day] = per_week.get(day, 0) + n
    local_start = timezone.localtime(start).date()
    weeks = [(local_start + datetime.timedelta(weeks=i),
              per_week.get(local_start + datetime.timedelta(weeks=i), 0)) for i in range(WEEKS)]

    # 3. By state (merged by label across workflows).
    labels = {workflow.pk: {s.get("key"): (s.get("label") or s.get("key"), s.get("kind", ""))
                            for s in workflow.states} for workflow in workflows}
    states: dict[str, dict] = {}
    order: dict[str, int] = {}
    for workflow in workflows:
        for position, state in enumerate(workflow.states):
            order.setdefault(state.get("label") or state.get("key"), position)
    for workflow_id, key, n in (dossiers.values("version__workflow_id", "state")
                                .annotate(n=Count("pk"))
                                .values_list("version__workflow_id", "state", "n")):
        label, kind = labels.get(workflow_id, {}).get(key, (key, ""))
        entry = states.setdefault(label, {"label": label, "kind": kind, "count": 0})
        entry["count"] += n
    state_rows = sorted(states.values(), key=lambda s: (order.get(s["label"], 99), s["label"]))

    # 4. Median processing time (overall and per procedure).
    medians = _medians(dossiers.filter(decided_q))
    result = Statistics(start=start, weeks=weeks, states=state_rows,
                        median=medians.pop(None, None))
    for procedure in procedures:
        row = by_procedure.get(procedure.pk, {})
        entry = {"procedure": procedure, "median": medians.get(procedure.pk),
                 **{name: row.get(name, 0) for name in ("received", "backlog", "decided",
                                                        "with_deadline", "within_deadline")}}
        entry["within_share"] = (round(entry["within_deadline"] * 100 / entry["with_deadline"])
                                 if entry["with_deadline"] else None)
        result.procedures.append(entry)
        for name in ("received", "backlog", "decided", "with_deadline", "within_deadline"):
            setattr(result, name, getattr(result, name) + entry[name])
    return result


def _medians(decided: QuerySet[Dossier]) -> dict:
    """{procedure id: median duration, None: overall median} of the decided dossiers."""
    if connection.vendor == "postgresql":
        found = dict(decided.values("version__definition_id")
                     .annotate(median=Median(_duration()))
                     .values_list("version__definition_id", "median"))
        found[None] = decided.aggregate(median=Median(_duration()))["median"]
        return found
    durations: dict = {}
    for definition_id, submitted, decided_at in decided.values_list(
            "version__definition_id", "submitted_at", "decided_at"):
        durations.setdefault(definition_id, []).append(decided_at - submitted)
    found = {key: pystats.median(values) for key, values in durations.items()}
    everything = [d for values in durations.values() for d in values]
    found[None] = pystats.median(everything) if everything else None
    return found


def duration_text(value: datetime.timedelta | None) -> str:
    """"12 jours", "3 jours et 4 heures", "5 heures" — or "—" without value."""
    if value is None:
        return "—"
    days, hours = value.days, value.seconds // 3600
    if days and hours:
        return _("%(days)s j et %(hours)s h") % {"days": days, "hours": hours}
    if days:
        return _("%(days)s j") % {"days": days}
    if hours:
        return _("%(hours)s h") % {"hours": hours}
    return _("moins d'une heure")


# --- Charts ------------------------------------------------------------------------------------


def column_chart(values: list[tuple[str, int]], *, width: int = 640, height: int = 240
                 ) -> dict:
    """Geometry of a vertical bar chart (one bar per value, its figure above it)."""
    left, bottom, top = 8, 40, 24
    top_value = max([v for _label, v in values] + [1])
    slot = (width - left * 2) / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(values):
        bar_height = round((height - bottom - top) * value / top_value, 1)
        x = round(left + index * slot + slot * 0.15, 1)
        bars.append({"label": label, "value": value, "x": x, "w": round(slot * 0.7, 1),
                     "y": round(height - bottom - bar_height, 1), "h": bar_height,
                     "cx": round(x + slot * 0.35, 1), "vy": round(height - bottom - bar_height
                                                                   - 6, 1),
                     "ly": height - bottom + 16})
    return {"width": width, "height": height, "bars": bars, "axis_y": height - bottom}


def bar_chart(values: list[tuple[str, int]], *, width: int = 640, row: int = 28) -> dict:
    """Geometry of a horizontal bar chart (one row per value, label on the left)."""
    label_width, right = 220, 60
    top_value = max([v for _label, v in values] + [1])
    bars = []
    for index, (label, value) in enumerate(values):
        length = round((width - label_width - right) * value / top_value, 1)
        y = index * row + 4
        bars.append({"label": label, "value": value, "x": label_width, "y": y,
                     "w": length, "h": row - 8, "ty": y + (row - 8) / 2 + 5,
                     "vx": label_width + length + 6})
    return {"width": width, "height": max(len(values), 1) * row + 8, "bars": bars,
            "label_x": label_width - 8}
