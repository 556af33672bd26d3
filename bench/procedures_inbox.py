"""Benchmark of the agents' inbox at scale (issue 4, Performance, first bullet).

On PostgreSQL, generates N submitted dossiers (default 1,000,000) across 20 procedures and 30
agents (skipped when they are already there), then measures through `django.test.Client`, in
one run, the server time (p50/p95) and the number of SQL queries of: the inbox's first page, a
filtered page (procedure + state), full-text searches (a rare word, a common name, a number),
the four tabs of a dossier page, and a bare view running one query (the reference: every ratio
is to it).

    createdb -h 127.0.0.1 -U postgres mairie_bench      # once; migrations are run here
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mairie_bench \\
        .venv/bin/python bench/procedures_inbox.py [--dossiers N] [--requests 30] [--slowest K]

`make bench` runs it with the defaults (DATABASE_URL defaults to the database above). Generated
dossiers are written with COPY and their search text built as `services.search_text_of` does;
the agent measured ("bench-agent@bench.example") plays roles on 18 of the 20 procedures.
"""

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mairie_bench"
HOST = "bench.localhost"
PROCEDURES = 20
AGENTS = 30
RESIDENTS = 2000
CHUNK = 10_000
SURNAMES = ["martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand",
            "leroy", "moreau", "simon", "laurent", "lefebvre", "michel", "garcia", "david",
            "bertrand", "roux", "vincent", "fournier", "morel", "girard", "andre", "mercier",
            "dupont", "lambert", "bonnet", "francois", "martinez", "legrand"]
# A word found in about one dossier in 200: what the full-text search looks for.
RARE_WORDS = [f"mot{n:03d}" for n in range(200)]
STATES = ["depose", "instruction", "validation", "signature", "accepte"]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mairie.settings")
os.environ["DEBUG"] = "0"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from mairie.core.factories import (  # noqa: E402
    MembershipFactory,
    OrganisationFactory,
    ServiceFactory,
    agent_factory,
)
from mairie.core.organisation.models import Role, Service  # noqa: E402
from mairie.core.tenancy.models import Organisation  # noqa: E402
from mairie.core.users.models import User  # noqa: E402
from mairie.procedures.models import Dossier, ProcedureDefinition  # noqa: E402
from mairie.procedures.queries import normalise_search_text  # noqa: E402
from mairie.procedures.tests.inbox_helpers import make_validation_procedure  # noqa: E402


def bare_view(request):
    """The reference: one query on a small table, a plain response."""
    return HttpResponse(str(Organisation.objects.count()), content_type="text/plain")


# The project's URLs plus the bare view (this module serves as ROOT_URLCONF while measuring).
urlpatterns = [path("bench/bare/", bare_view), path("", include("mairie.urls"))]


def log(message: str) -> None:
    print(message, flush=True)


# --- Generation -------------------------------------------------------------------------------


def setup_organisation():
    """The organisation, its services, 30 agents, residents and 20 procedures (idempotent)."""
    organisation = Organisation.objects.filter(slug="bench").first()
    if organisation is None:
        organisation = OrganisationFactory(name="Commune de Bench", slug="bench", hosts=[HOST])
    services = [Service.objects.filter(organisation=organisation, slug=slug).first()
                or ServiceFactory(organisation=organisation, name=name, slug=slug)
                for name, slug in (("Instruction", "instruction"), ("Direction", "direction"),
                                   ("Cabinet du maire", "cabinet"), ("Autre", "autre"))]
    instruction, direction, cabinet, other = services
    bench_agent = User.objects.filter(email="bench-agent@bench.example").first()
    if bench_agent is None:
        # Member of the instructing, validating and signing services: plays a role on the 18
        # procedures the instruction service owns (not on the 2 owned by "Autre").
        bench_agent = agent_factory(service=instruction, email="bench-agent@bench.example",
                                    first_name="Agathe", last_name="Banc")
        for svc in (direction, cabinet):
            MembershipFactory(service=svc, user=bench_agent, role=Role.AGENT)
    agents = list(User.objects.filter(organisation=organisation,
                                      email__startswith="bench-agent").order_by("email"))
    for n in range(len(agents), AGENTS):
        agents.append(agent_factory(service=services[n % len(services)],
                                    email=f"bench-agent-{n:02d}@bench.example"))
    if not User.objects.filter(organisation=organisation, email__startswith="habitant").exists():
        User.objects.bulk_create(
            User(organisation=organisation, email=f"habitant{n:05d}@example.org",
                 first_name=random.choice(["Jean", "Marie", "Louis", "Emma", "Paul"]),
                 last_name=SURNAMES[n % len(SURNAMES)].capitalize(), password="!")
            for n in range(RESIDENTS))
    residents = list(User.objects.filter(organisation=organisation, email__startswith="habitant")
                     .values_list("pk", "email", "first_name", "last_name"))
    procedures = list(ProcedureDefinition.objects.filter(organisation=organisation)
                      .select_related("current_version").order_by("slug"))
    for n in range(len(procedures), PROCEDURES):
        owner = other if n >= PROCEDURES - 2 else instruction
        make_validation_procedure(organisation, owner, head_service=direction,
                                  mayor_service=cabinet, slug=f"demarche-{n:02d}",
                                  title=f"Démarche de test {n:02d}")
    procedures = list(ProcedureDefinition.objects.filter(organisation=organisation)
                      .select_related("current_version").order_by("slug"))
    return organisation, bench_agent, agents, residents, procedures


COLUMNS = ("id", "created_at", "updated_at", "number", "tracking_code", "applicant_email",
           "data", "page_inputs", "current_page", "state", "submitted_at", "lock_version",
           "applicant_id", "organisation_id", "version_id", "assigned_service_id",
           "assigned_to_id", "deadline_at", "decided_at", "processing_data", "search_text",
           "state_entered_at")


def generate(organisation, agents, residents, procedures, total: int) -> float:
    """COPY the missing dossiers (numbers go on from the existing ones); returns seconds."""
    existing = Dossier.objects.filter(organisation=organisation).count()
    if existing >= total:
        log(f"{existing} dossiers already there: generation skipped.")
        return 0.0
    log(f"Generating {total - existing} dossiers ({existing} already there)…")
    rng = random.Random(existing)
    started = time.perf_counter()
    now = timezone.now()
    empty = "{}"
    agent_ids = [agent.pk for agent in agents]
    versions = [procedure.current_version_id for procedure in procedures]
    sql = f"COPY procedures_dossier ({', '.join(COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor:
        for start in range(existing, total, CHUNK):
            with cursor.cursor.copy(sql) as copy:
                for n in range(start, min(start + CHUNK, total)):
                    resident_id, email, first, last = residents[n % len(residents)]
                    nom = f"{rng.choice(SURNAMES)} {rng.choice(RARE_WORDS)}"
                    age = rng.randint(18, 90)
                    couple = rng.random() < 0.4
                    data = {"nom": nom, "age": age, "situation": "couple" if couple else "seul",
                            "courriel": email}
                    if couple:
                        data["conjoint"] = rng.choice(SURNAMES)
                    number = f"2026-{n + 1:07d}"
                    submitted = now - timedelta(minutes=n % 500_000, seconds=rng.random())
                    state = STATES[n % len(STATES)]
                    # What services.search_text_of writes: number, applicant, answers as shown.
                    text = normalise_search_text(" ".join(
                        [number, email, f"{first} {last}", email, nom, str(age),
                         "En couple" if couple else "Seul", data.get("conjoint", ""), email]))
                    copy.write_row((
                        uuid.uuid4(), submitted, submitted, number, uuid.uuid4().hex,
                        email, json.dumps(data), empty, "", state, submitted, 0, resident_id,
                        organisation.pk, versions[n % len(versions)], None,
                        agent_ids[n % len(agent_ids)] if n % 3 else None,
                        submitted + timedelta(days=30) if n % 2 else None,
                        submitted if state == "accepte" else None, empty, text, submitted))
            if (start // CHUNK) % 10 == 9:
                log(f"  {start + CHUNK - existing} rows, {time.perf_counter() - started:.0f} s")
        cursor.execute("ANALYZE")  # the bulk-created users too
    return time.perf_counter() - started


def million_dossiers(total: int = 1_000_000):
    """For the other benchmarks: migrate, then the organisation and its `total` dossiers
    (generated when missing); (organisation, measured agent, agents, residents, procedures)."""
    from django.core.management import call_command

    if connection.vendor != "postgresql":
        sys.exit(f"PostgreSQL needed (DATABASE_URL, e.g. {DEFAULT_DATABASE_URL}).")
    call_command("migrate", interactive=False, verbosity=0)
    organisation, bench_agent, agents, residents, procedures = setup_organisation()
    generate(organisation, agents, residents, procedures, total)
    return organisation, bench_agent, agents, residents, procedures


def procedures_in_state(procedures, state: str) -> list:
    """The procedures whose generated dossiers are all in `state` (see `generate`)."""
    return [p for n, p in enumerate(procedures) if STATES[n % len(STATES)] == state]


@contextlib.contextmanager
def celery_worker():
    """The Celery worker of `python -m mairie worker` in a subprocess, without its beat (whose
    hourly jobs would run on the bench's dossiers meanwhile), for the duration of the block."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mairie", "worker", "--loglevel=WARNING"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mairie.settings", "LOG_LEVEL": "WARNING"})
    try:
        time.sleep(5)  # the worker connects to the broker
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=60)


# --- Measures ---------------------------------------------------------------------------------


def measure(client, url: str, requests: int, slowest: int = 0) -> tuple[float, float, int]:
    """(p50 ms, p95 ms, queries of the last request) of `requests` GETs, after 3 warm-ups;
    prints the `slowest` queries of the last request."""
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    timings = []
    queries = 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured.captured_queries)
    for query in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:slowest]:
        log(f"  {float(query['time']) * 1000:8.1f} ms  {query['sql'][:300]}")
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument("--slowest", type=int, default=0, metavar="K",
                        help="print the K slowest SQL queries of each page")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(f"PostgreSQL needed (DATABASE_URL, e.g. {DEFAULT_DATABASE_URL}).")
    if not args.no_migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    organisation, bench_agent, agents, residents, procedures = setup_organisation()
    seconds = generate(organisation, agents, residents, procedures, args.dossiers)
    count = Dossier.objects.filter(organisation=organisation).count()
    if seconds:
        log(f"Generation: {seconds:.1f} s")

    procedure = procedures[0]
    dossier = (Dossier.objects.filter(organisation=organisation, version__definition=procedure,
                                      submitted_at__isnull=False)
               .order_by("-submitted_at").first())
    pages = [
        ("Bare view (1-query view)", "/bench/bare/"),
        ("Inbox, first page", "/agent/dossiers/"),
        ("Inbox, procedure + state", f"/agent/dossiers/?procedure={procedure.pk}&state=validation"),
        ("Inbox, full-text search", f"/agent/dossiers/?q={RARE_WORDS[7]}"),
        ("Inbox, search a common name", f"/agent/dossiers/?q={SURNAMES[0]}"),
        ("Inbox, search a number", f"/agent/dossiers/?q={dossier.number}"),
        ("Dossier page", f"/agent/dossiers/{dossier.pk}/"),
        ("Dossier, messages tab", f"/agent/dossiers/{dossier.pk}/messagerie/"),
        ("Dossier, notes tab", f"/agent/dossiers/{dossier.pk}/notes-et-avis/"),
        ("Dossier, history tab", f"/agent/dossiers/{dossier.pk}/historique/"),
    ]
    client = Client(HTTP_HOST=HOST)
    client.force_login(bench_agent)
    results = []
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False):
        for name, url in pages:
            if args.slowest:
                log(f"{name}: {url}")
            results.append((name, *measure(client, url, args.requests, args.slowest)))
    bare_p50, bare_p95 = results[0][1], results[0][2]
    log(f"\n{count} dossiers, {len(procedures)} procedures, {len(agents)} agents; "
        f"{args.requests} requests per page (PostgreSQL {connection.pg_version}, DEBUG off)")
    log(f"{'Page':<28}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}{'p50 ×bare':>11}{'p95 ×bare':>11}")
    for name, p50, p95, queries in results:
        log(f"{name:<28}{p50:>9.1f}{p95:>9.1f}{queries:>9}"
            f"{p50 / bare_p50:>11.1f}{p95 / bare_p95:>11.1f}")


if __name__ == "__main__":
    main()
