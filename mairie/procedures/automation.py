"""Automation of procedures (issue 4): deadline reminders and escalation, "silence vaut
accord / refus", routing rules and automatic transitions.

Everything done here is done by "the system": timeline events and audit entries have no actor
and carry {"system": true, "rule": "<label>"}. The per-procedure settings live in
`AutomationSettings` (models_automation.py) and are checked by `validate_settings`.

Hooks: `on_submitted` (services.submit_dossier, inside its transaction: decision 0400),
`on_event` (processing.answer_correction / answer_opinion), and `run_deadlines` (the hourly
Celery beat task, tasks_automation.py). Each automatic transition runs in its own savepoint:
a rule that cannot apply is logged and leaves the rest (and the submission) untouched.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mairie.core.audit.services import appended_at_the_end, record_event
from mairie.core.bulk import insert_all
from mairie.core.notifications.kinds import register_kind
from mairie.core.notifications.services import notify
from mairie.core.organisation.models import Membership, Role, Service

from . import expressions
from . import schema as schema_helpers
from .models import Dossier, DossierEvent, ProcedureDefinition, Workflow
from .models_automation import AutomationNotice, AutomationSettings

logger = logging.getLogger(__name__)

KIND_REMINDER = "procedures.deadline_reminder"
KIND_OVERDUE = "procedures.deadline_overdue"

EVENTS = {
    "submitted": gettext_lazy("Dépôt du dossier"),
    "correction_answered": gettext_lazy("Réponse du demandeur à une demande de correction"),
    "opinion_answered": gettext_lazy("Avis rendu par un service consulté"),
    "deadline_passed": gettext_lazy("Échéance dépassée"),
}
SILENCE_KINDS = {"accord": gettext_lazy("Silence vaut accord"),
                 "refus": gettext_lazy("Silence vaut refus")}
DEFAULT_REMINDERS = (3, 0)
MAX_REMINDER_DAYS = 365


def register() -> None:
    register_kind(KIND_REMINDER, gettext_lazy("Échéances proches de vos dossiers"),
                  description=gettext_lazy("Quelques jours avant l'échéance d'un dossier qui "
                                           "vous est attribué, puis le jour même."),
                  for_residents=False)
    register_kind(KIND_OVERDUE, gettext_lazy("Dossiers en retard dans vos services"),
                  description=gettext_lazy("Quand l'échéance d'un dossier de votre service est "
                                           "dépassée (chefs de service)."),
                  for_residents=False)


class StaleAutomation(Exception):
    """Someone saved the automation of this procedure since the page was shown."""

    def __init__(self, current: AutomationSettings) -> None:
        self.current = current
        super().__init__(_("Quelqu'un a enregistré l'automatisation de cette démarche depuis "
                           "l'affichage de la page : vos modifications n'ont pas été "
                           "enregistrées. Vérifiez la version actuelle ci-dessous puis "
                           "recommencez."))


# --- Settings ---------------------------------------------------------------------------------

def settings_of(definition: ProcedureDefinition) -> AutomationSettings | None:
    return AutomationSettings.objects.filter(definition=definition).first()


def reference_version(definition: ProcedureDefinition):
    """The version the rules are checked against: the published one, else the draft."""
    if definition.current_version_id:
        return definition.current_version
    return (definition.versions.select_related("workflow").order_by("-number").first())


def _condition_error(condition: str, names: set[str]) -> str:
    if not condition or not condition.strip():
        return ""
    try:
        expressions.compile_expression(condition, names=names)
    except expressions.ExpressionError as exc:
        return str(exc)
    return ""


def validate_settings(*, definition: ProcedureDefinition, reminder_days: Any,
                      silence_rules: Any, routing_rules: Any,
                      transition_rules: Any) -> list[str]:
    """Everything wrong with these settings, as French sentences (empty: they may be saved).
    Conditions read the form's field keys; states and transitions must exist in the circuit
    of the published version (or of the draft when nothing is published)."""
    from . import workflow as engine

    errors: list[str] = []
    version = reference_version(definition)
    workflow: Workflow | None = version.workflow if version else None
    names = schema_helpers.answer_names(version.schema) if version else set()
    kinds = {s.get("key"): s.get("kind") for s in (workflow.states if workflow else [])}

    if not isinstance(reminder_days, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_REMINDER_DAYS
            for d in reminder_days):
        errors.append(_("Les rappels sont des nombres entiers de jours entre 0 et %(max)s.")
                      % {"max": MAX_REMINDER_DAYS})

    deadline_states = {s.get("key") for s in (workflow.states if workflow else [])
                       if s.get("deadline_days")}
    seen_states: set[str] = set()
    for index, rule in enumerate(silence_rules or [], start=1):
        state, decision = rule.get("state"), rule.get("decision")
        prefix = _("Silence n° %(n)s : ") % {"n": index}
        if state not in kinds:
            errors.append(prefix + _("l'état « %(state)s » n'existe pas dans le circuit.")
                          % {"state": state})
        elif state not in deadline_states:
            errors.append(prefix + _("l'état « %(state)s » n'a pas de délai (deadline_days) "
                                     "dans le circuit : le silence ne peut pas y courir.")
                          % {"state": workflow.state_label(state) if workflow else state})
        elif state in seen_states:
            errors.append(prefix + _("l'état « %(state)s » a déjà une règle de silence.")
                          % {"state": workflow.state_label(state) if workflow else state})
        else:
            seen_states.add(state)
        if kinds.get(decision) != Workflow.Kind.FINAL:
            errors.append(prefix + _("la décision doit être un état final du circuit "
                                     "(« %(state)s » n'en est pas un).") % {"state": decision})
        if rule.get("kind") not in SILENCE_KINDS:
            errors.append(prefix + _("choisissez « accord » ou « refus »."))

    for index, rule in enumerate(routing_rules or [], start=1):
        prefix = _("Attribution « %(label)s » : ") % {"label": rule.get("label") or index}
        error = _condition_error(rule.get("condition", ""), names)
        if error:
            errors.append(prefix + _("condition incorrecte : %(error)s") % {"error": error})
        if not rule.get("service") and not rule.get("agent"):
            errors.append(prefix + _("choisissez un service, un agent ou les deux."))

    for index, rule in enumerate(transition_rules or [], start=1):
        prefix = _("Transition automatique « %(label)s » : ") % {
            "label": rule.get("label") or index}
        if rule.get("event") not in EVENTS:
            errors.append(prefix + _("choisissez l'événement qui la déclenche."))
        error = _condition_error(rule.get("condition", ""), names)
        if error:
            errors.append(prefix + _("condition incorrecte : %(error)s") % {"error": error})
        transition = engine.find_transition(workflow, rule.get("transition", "")) \
            if workflow else None
        if transition is None:
            errors.append(prefix + _("la transition « %(key)s » n'existe pas dans le circuit.")
                          % {"key": rule.get("transition")})
        else:
            refusal = engine.system_refusal(transition)
            if refusal:
                errors.append(prefix + _("le système ne peut pas franchir « %(label)s » : ")
                              % {"label": transition.get("label")} + refusal)
    return errors


@transaction.atomic
def save_settings(*, actor, definition: ProcedureDefinition, values: Mapping[str, Any],
                  expected_revision: int, request: HttpRequest | None = None
                  ) -> AutomationSettings:
    """Save the automation of `definition` (`values`: reminder_days, escalate, silence_rules,
    routing_rules, transition_rules). Raises `StaleAutomation` if it was saved since
    `expected_revision`, `ValidationError` (French messages) if a rule is wrong."""
    current, _created = AutomationSettings.objects.get_or_create(
        definition=definition, defaults={"organisation": definition.organisation})
    current = AutomationSettings.objects.select_for_update().get(pk=current.pk)
    if current.revision != int(expected_revision):
        raise StaleAutomation(current)
    fields = ("reminder_days", "escalate", "silence_rules", "routing_rules",
              "transition_rules")
    errors = validate_settings(definition=definition, **{
        name: values.get(name) for name in fields if name != "escalate"})
    if errors:
        raise ValidationError(errors)
    for name in fields:
        setattr(current, name, values[name])
    current.revision += 1
    current.save()
    record_event(organisation=definition.organisation, action="procedures.automation_saved",
                 actor=actor, obj=definition, object_label=definition.title, request=request,
                 details={"revision": current.revision,
                          "reminder_days": current.reminder_days,
                          "escalate": current.escalate,
                          "silence_rules": len(current.silence_rules),
                          "routing_rules": len(current.routing_rules),
                          "transition_rules": len(current.transition_rules)})
    return current


# --- Events: routing and automatic transitions --------------------------------------------------

def _context(dossier: Dossier) -> dict:
    return schema_helpers.effective_answers(dossier.version.schema, dossier.data or {})


def _system(label: str) -> dict:
    return {"system": True, "rule": label}


def _route(dossier: Dossier, rules: list, request: HttpRequest | None) -> None:
    context = _context(dossier)
    for index, rule in enumerate(rules, start=1):
        if not expressions.is_true(rule.get("condition", ""), context):
            continue
        label = rule.get("label") or _("attribution n° %(n)s") % {"n": index}
        service = (Service.objects.filter(organisation=dossier.organisation,
                                          pk=rule["service"]).first()
                   if rule.get("service") else None)
        agent = (get_user_model().objects.filter(organisation=dossier.organisation,
                                                 is_active=True, pk=rule["agent"]).first()
                 if rule.get("agent") else None)
        if service is None and agent is None:
            logger.warning("Routing rule %r of %s names nobody who still exists.", label,
                           dossier.number)
            continue
        update: dict[str, Any] = {"assigned_to": agent}
        if service is not None:
            update["assigned_service"] = service
        Dossier.objects.filter(pk=dossier.pk).update(**update)
        name = ((agent.get_full_name() or agent.email) if agent
                else service.name if service else "")
        DossierEvent.objects.create(organisation=dossier.organisation, dossier=dossier,
                                    kind="assigned", actor=None, public=False,
                                    details={"to_name": name, **_system(label)})
        record_event(organisation=dossier.organisation, action="procedures.dossier_routed",
                     actor=None, obj=dossier, object_label=dossier.number, request=request,
                     details={"service": str(service.pk) if service else "",
                              "agent": str(agent.pk) if agent else "", **_system(label)})
        if agent is not None:
            from .processing import KIND_ASSIGNED

            notify(organisation=dossier.organisation, recipients=[agent], kind=KIND_ASSIGNED,
                   title=_("Le dossier %(number)s vous est attribué")
                   % {"number": dossier.number},
                   url=reverse("procedures:agent-dossier", args=[dossier.pk]), about=dossier)
        return


def _apply_rules(event: str, dossier: Dossier, rules: list,
                 request: HttpRequest | None) -> bool:
    """Take the first automatic transition of `event` whose condition holds and which leaves
    the dossier's state. True when the dossier moved."""
    from . import workflow as engine

    workflow = dossier.version.workflow
    context = _context(dossier)
    for index, rule in enumerate(rules, start=1):
        if rule.get("event") != event:
            continue
        transition = engine.find_transition(workflow, rule.get("transition", ""))
        if transition is None or dossier.state not in engine.from_states(transition):
            continue
        if not expressions.is_true(rule.get("condition", ""), context):
            continue
        label = rule.get("label") or _("règle n° %(n)s") % {"n": index}
        try:
            with transaction.atomic():
                engine.apply_transition_as_system(dossier=dossier, key=transition["key"],
                                                  rule_label=label, request=request)
        except ValidationError as exc:
            logger.warning("Automatic rule %r not applied to %s: %s", label, dossier.number,
                           " ".join(exc.messages))
            continue
        except PermissionDenied:
            logger.warning("Automatic rule %r not applied to %s: refused.", label,
                           dossier.number)
            continue
        return True
    return False


def on_submitted(*, dossier: Dossier, request: HttpRequest | None = None) -> None:
    """Called by `services.submit_dossier` inside its transaction, once the dossier has its
    number and submitted state: routing rules first, then the "submitted" transitions."""
    on_event("submitted", dossier=dossier, request=request)


def on_event(event: str, *, dossier: Dossier, request: HttpRequest | None = None) -> None:
    """Run the rules of `event` on `dossier` (refreshed afterwards)."""
    settings = (AutomationSettings.objects
                .filter(definition_id=dossier.version.definition_id).first())
    if settings is None:
        return
    if event == "submitted" and settings.routing_rules:
        _route(dossier, settings.routing_rules, request)
        dossier.refresh_from_db()
    if settings.transition_rules:
        _apply_rules(event, dossier, settings.transition_rules, request)
        dossier.refresh_from_db()


# --- Deadlines: the hourly task ---------------------------------------------------------------

def _claim(dossier: Dossier, kind: str, *, offset: int = 0) -> bool:
    """Write down that `kind` is done for the dossier's current state and deadline; False if
    it already was (by an earlier run or by another worker right now)."""
    try:
        with transaction.atomic():
            AutomationNotice.objects.create(organisation_id=dossier.organisation_id,
                                            dossier=dossier, kind=kind, state=dossier.state,
                                            deadline_at=dossier.deadline_at,  # type: ignore[misc]
                                            offset=offset)
    except IntegrityError:
        return False
    return True


def _remind(dossier: Dossier, reminder_days, now: datetime.datetime) -> bool:
    if (dossier.assigned_to is None or not dossier.assigned_to.is_active
            or dossier.deadline_at is None or now >= dossier.deadline_at):
        return False
    today = timezone.localdate(now)
    due = timezone.localdate(dossier.deadline_at)
    left = (due - today).days
    offsets = [d for d in reminder_days if left <= d]
    if not offsets:
        return False
    offset = min(offsets)  # the most recent reminder only, never a late "in 3 days"
    if not _claim(dossier, AutomationNotice.Kind.REMINDER, offset=offset):
        return False
    if left <= 0:
        title = _("Échéance aujourd'hui : dossier n° %(number)s") % {"number": dossier.number}
    else:
        title = _("Échéance dans %(days)s jour(s) : dossier n° %(number)s") % {
            "days": left, "number": dossier.number}
    notify(organisation=dossier.organisation, recipients=[dossier.assigned_to],
           kind=KIND_REMINDER, title=title, about=dossier,
           body=_("%(procedure)s — à traiter avant le %(date)s.") % {
               "procedure": dossier.version.definition.title,
               "date": timezone.localtime(dossier.deadline_at).strftime("%d/%m/%Y %H:%M")},
           url=reverse("procedures:agent-dossier", args=[dossier.pk]))
    return True


def managers_of(service_id) -> list:
    return list(get_user_model().objects.filter(
        is_active=True, pk__in=Membership.objects.filter(service_id=service_id,
                                                         role=Role.MANAGER)
        .values("user_id")))


def _escalate(dossier: Dossier) -> bool:
    recipients = managers_of(dossier.version.definition.service_id)
    if not recipients or not _claim(dossier, AutomationNotice.Kind.ESCALATION):
        return False
    notify(organisation=dossier.organisation, recipients=recipients, kind=KIND_OVERDUE,
           about=dossier,
           title=_("Dossier en retard : n° %(number)s") % {"number": dossier.number},
           body=_("%(procedure)s — échéance du %(date)s dépassée, à l'état « %(state)s »%("
                  "who)s.") % {
               "procedure": dossier.version.definition.title,
               "date": timezone.localtime(dossier.deadline_at).strftime("%d/%m/%Y %H:%M"),
               "state": dossier.version.workflow.state_label(dossier.state),
               "who": (_(", suivi par %(name)s") % {
                   "name": dossier.assigned_to.get_full_name() or dossier.assigned_to.email}
                   if dossier.assigned_to is not None else "")},
           url=reverse("procedures:agent-dossier", args=[dossier.pk]))
    return True


def silence_text(kind: str, days: int | None, deadline: str) -> str:
    """« Silence vaut accord : délai de 2 mois dépassé le 12/01/2027 »."""
    if days and days % 30 == 0:
        delay = _("%(n)s mois") % {"n": days // 30}
    elif days:
        delay = _("%(n)s jours") % {"n": days}
    else:
        delay = _("délai")
    try:
        date = timezone.localtime(datetime.datetime.fromisoformat(deadline)).strftime(
            "%d/%m/%Y")
    except (TypeError, ValueError):
        date = deadline
    return _("%(silence)s : délai de %(delay)s dépassé le %(date)s") % {
        "silence": SILENCE_KINDS.get(kind, kind), "delay": delay, "date": date}


def _silence(dossier: Dossier, rule: Mapping, request=None) -> bool:
    """Move an overdue dossier to the rule's decision (once, whoever runs first)."""
    locked = Dossier.objects.select_for_update().filter(
        pk=dossier.pk, state=dossier.state, deadline_at=dossier.deadline_at,
        decided_at__isnull=True).first()
    if locked is None:
        return False
    locked.version, locked.organisation = dossier.version, dossier.organisation
    locked.applicant = dossier.applicant
    return bool(_decide_by_silence([(locked, rule)], request=request))


def _decide_by_silence(pairs: list[tuple[Dossier, Mapping]], request=None) -> list[Dossier]:
    """Move each locked, overdue dossier to its rule's decision, in the caller's transaction:
    the claims in one insert (a dossier already decided by another worker is left out), the
    reason as the decision's motivation, the states (`workflow.enter_states`: a few queries
    for them all), then the applicants told (`workflow.tell_applicants`). The decided dossiers
    are returned. Dossiers come with their version, workflow, organisation and applicant."""
    from . import workflow as engine

    pairs = [(dossier, rule) for dossier, rule in pairs
             if dossier.version.workflow.state_kind(rule.get("decision", ""))
             == Workflow.Kind.FINAL]
    if not pairs:
        return []
    taken = set(AutomationNotice.objects.filter(
        dossier_id__in=[dossier.pk for dossier, _rule in pairs],
        kind=AutomationNotice.Kind.SILENCE).values_list("dossier_id", "state", "deadline_at"))
    pairs = [(dossier, rule) for dossier, rule in pairs
             if (dossier.pk, dossier.state, dossier.deadline_at) not in taken]
    # The claims keep "once": a worker racing this one fails on the unique row and rolls back.
    insert_all([
        AutomationNotice(organisation_id=dossier.organisation_id, dossier=dossier,
                         kind=AutomationNotice.Kind.SILENCE, state=dossier.state,
                         deadline_at=dossier.deadline_at, offset=0)  # type: ignore[misc]
        for dossier, _rule in pairs])
    details = {}
    texts: dict[tuple, str] = {}  # thousands of dossiers fall due with the same few texts
    for dossier, rule in pairs:
        workflow = dossier.version.workflow
        days = next((s.get("deadline_days") for s in workflow.states
                     if s.get("key") == dossier.state), None)
        kind = rule.get("kind", "accord")
        deadline = dossier.deadline_at.isoformat() if dossier.deadline_at else ""
        key = (kind, days, deadline)
        if key not in texts:
            texts[key] = silence_text(kind, days, deadline)
        details[dossier.pk] = {**_system(str(SILENCE_KINDS.get(kind, kind))), "silence": kind,
                               "deadline": deadline, "days": days,
                               # The reason is the "motif" of the decision: the applicant's
                               # notice and the decision letter ({{ decision.motivation }}).
                               "motivation": texts[key]}
    by_kind: dict[str, list] = {}
    for dossier, rule in pairs:
        by_kind.setdefault(rule.get("kind", "accord"), []).append((dossier, rule["decision"]))
    for kind, entries in by_kind.items():
        engine.enter_states(
            entries, actor=None, reason=f"silence_{kind}", request=request,
            details=lambda dossier: {k: v for k, v in details[dossier.pk].items()
                                     if k != "motivation"},
            processing=lambda dossier: {"motivation": details[dossier.pk]["motivation"]})
    decided = [dossier for dossier, _rule in pairs]
    engine.tell_applicants(decided, request=request)
    return decided


# Overdue dossiers decided by silence are taken this many at a time (`run_deadlines`).
SILENCE_CHUNK = 1000


def _silence_chunk(pks: list, by_definition: dict, now, counts) -> list:
    """Decide by silence, in one transaction, those of `pks` that are still overdue in a
    state whose rule says so; the ids left for the dossier-by-dossier pass are returned
    (another state now, a decision missing from an older version's circuit…)."""
    with transaction.atomic(), appended_at_the_end():
        dossiers = list(Dossier.objects.select_for_update(skip_locked=True)
                        .filter(pk__in=pks, submitted_at__isnull=False,
                                decided_at__isnull=True, deadline_at__lte=now)
                        .defer("page_inputs", "search_text")
                        .prefetch_related("version__definition", "version__workflow",
                                          "organisation", "applicant"))
        pairs, left = [], []
        for dossier in dossiers:
            settings = by_definition.get(dossier.version.definition_id)
            rule = next((r for r in (settings.silence_rules if settings else [])
                         if r.get("state") == dossier.state), None)
            if rule is None or dossier.version.workflow.state_kind(
                    rule.get("decision", "")) != Workflow.Kind.FINAL:
                left.append(dossier.pk)
            else:
                pairs.append((dossier, rule))
        counts["silences"] += len(_decide_by_silence(pairs))
    return left


def _settings_by_definition(definition_ids) -> dict:
    return {s.definition_id: s for s in
            AutomationSettings.objects.filter(definition_id__in=set(definition_ids))}


def run_deadlines(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """The hourly pass over dossiers with a deadline: reminders, then, once overdue, silence
    decisions, "deadline_passed" rules and the managers' alert. Dossiers decided by silence are
    taken a chunk at a time in one transaction (handed to the workers, a task per chunk, when
    there are several chunks and a broker); the others each in its own transaction. Running it
    twice (or on two workers at once) does nothing twice: every decision is claimed."""
    now = now or timezone.now()
    counts = {"reminders": 0, "escalations": 0, "silences": 0, "rules": 0, "errors": 0}
    furthest = max([*DEFAULT_REMINDERS, *(
        day for days in AutomationSettings.objects.values_list("reminder_days", flat=True)
        for day in (days or []) if isinstance(day, int))])
    horizon = now + datetime.timedelta(days=furthest + 1)
    escalated = AutomationNotice.objects.filter(
        dossier=OuterRef("pk"), kind=AutomationNotice.Kind.ESCALATION, state=OuterRef("state"),
        deadline_at=OuterRef("deadline_at"))
    candidates = (Dossier.objects.filter(submitted_at__isnull=False, decided_at__isnull=True,
                                         deadline_at__isnull=False, deadline_at__lte=horizon)
                  .exclude(Exists(escalated))  # overdue and already handled
                  .values_list("pk", "version__definition_id", "state", "deadline_at"))
    rows = list(candidates)
    by_definition = _settings_by_definition(d for _pk, d, _state, _at in rows)
    # Overdue in a state decided by silence: a chunk at a time (thousands may fall due in
    # the same hour after an emergency plan); the rest, and whatever a chunk leaves or fails
    # on, dossier by dossier.
    silent = [pk for pk, definition_id, state, deadline_at in rows
              if deadline_at is not None and deadline_at <= now and any(
                  rule.get("state") == state for rule in getattr(
                      by_definition.get(definition_id), "silence_rules", None) or [])]
    silent_set = set(silent)
    chunks = [silent[start:start + SILENCE_CHUNK]
              for start in range(0, len(silent), SILENCE_CHUNK)]
    if len(chunks) > 1 and not django_settings.CELERY_TASK_ALWAYS_EAGER:
        # Many chunks: the workers take them at once (a task each), not this one alone.
        from .tasks_automation import decide_overdue_by_silence

        for chunk in chunks:
            decide_overdue_by_silence.delay([str(pk) for pk in chunk], now.isoformat())
        counts["handed_over"] = len(silent)
        chunks = []
    left: set = set()
    for chunk in chunks:
        left.update(_silence_chunk_or_none(chunk, by_definition, now, counts))
    _one_by_one([(pk, definition_id) for pk, definition_id, _state, _at in rows
                 if pk not in silent_set or pk in left], by_definition, now, counts)
    return counts


def _silence_chunk_or_none(pks: list, by_definition: dict, now, counts) -> list:
    """`_silence_chunk`, or every id back when the chunk failed (then rolled back)."""
    try:
        return _silence_chunk(pks, by_definition, now, counts)
    except Exception:  # noqa: BLE001 - its dossiers are taken one by one instead
        logger.info("Silence chunk taken dossier by dossier", exc_info=True)
        return list(pks)


def _one_by_one(rows: list[tuple], by_definition: dict, now, counts) -> None:
    """The pass over (dossier id, procedure id), each dossier in its own transaction."""
    for pk, definition_id in rows:
        settings = by_definition.get(definition_id)
        try:
            with transaction.atomic():
                _deadline_pass(pk, settings, now, counts)
        except Exception:  # one broken dossier must not stop the others
            logger.exception("Deadline automation failed for dossier %s", pk)
            counts["errors"] += 1


def decide_chunk_by_silence(pks: list, *, now: datetime.datetime) -> dict[str, int]:
    """One chunk of overdue dossiers handed over by `run_deadlines` (a task each): decided by
    silence, and those it leaves taken dossier by dossier, as the pass itself would."""
    counts = {"reminders": 0, "escalations": 0, "silences": 0, "rules": 0, "errors": 0}
    definitions = dict(Dossier.objects.filter(pk__in=pks)
                       .values_list("pk", "version__definition_id"))
    by_definition = _settings_by_definition(definitions.values())
    left = _silence_chunk_or_none(pks, by_definition, now, counts)
    _one_by_one([(pk, definitions.get(pk)) for pk in left if pk in definitions],
                by_definition, now, counts)
    return counts


def _deadline_pass(pk, settings: AutomationSettings | None, now, counts) -> None:
    dossier = (Dossier.objects.select_related("version__definition", "version__workflow",
                                              "organisation", "assigned_to", "applicant")
               .filter(pk=pk, decided_at__isnull=True, deadline_at__isnull=False).first())
    if dossier is None:
        return
    reminders = settings.reminder_days if settings else list(DEFAULT_REMINDERS)
    if now < dossier.deadline_at:
        if reminders and _remind(dossier, reminders, now):
            counts["reminders"] += 1
        return
    rule = next((r for r in (settings.silence_rules if settings else [])
                 if r.get("state") == dossier.state), None)
    if rule is not None and dossier.version.workflow.state_kind(
            rule.get("decision", "")) != Workflow.Kind.FINAL:
        rule = None  # an older version's circuit without that decision: escalate instead
    if rule is not None:
        # Decided by silence (here or by another worker right now): nothing else to do.
        if _silence(dossier, rule):
            counts["silences"] += 1
        return
    if settings and settings.transition_rules and _claim(
            dossier, AutomationNotice.Kind.DEADLINE_RULES):
        before = dossier.state
        _apply_rules("deadline_passed", dossier, settings.transition_rules, None)
        dossier.refresh_from_db()
        if dossier.state != before:
            counts["rules"] += 1
            return
    if (settings.escalate if settings else True) and _escalate(dossier):
        counts["escalations"] += 1
