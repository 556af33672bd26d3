"""Benchmark of a release burst (issue 6, Performance: passport slots opened at once).

On PostgreSQL, in a fresh database: 500 slots released at once (2 counters, 10 agents, 5 days,
10 slots of 20 minutes an agent a day), the production ASGI server (`python -m mairie serve`)
with Redis, and 2,000 simulated residents arriving over 60 seconds (a Poisson process: given
the count, arrival times are uniform). Each resident, on their own HTTP connection, searches
(GET `/rendez-vous/<type>/`), opens the booking form of one of the first offered slots, posts
it; on « vient d'être pris » picks one of the next slots the page offers, up to 3 tries; on
success follows the redirect to the confirmation. Short think times between pages
(--think).

Prints p50/p95/p99/max of each kind of request and overall (target: p95 < 300 ms overall), the
residents' outcomes, the bookings made (must be <= 500 and equal to the seats booked in the
database), the 5xx (must be 0), the bookings per second in the busiest part of the burst, and
the PostgreSQL connections seen. Then, on the same server:
- an achievable booking rate: a saturating closed loop, --loop-clients client processes each
  posting bookings back to back (one form read, then its CSRF token reused) on slots of their
  own (another type, no contention on a slot) for --loop-seconds;
- `pgbench` single-row update TPS (own database initialised at scale 10, a script updating one
  random row of pgbench_accounts, -c <loop clients> -j 2 -T 15) and the booking rates as a
  share of it.
Exits 1 when a check or the latency target fails.

    .venv/bin/python bench/appointments_burst.py [--residents 2000] [--seconds 60]
        [--workers 2] [--loop-clients 16] [--loop-seconds 20] [--redis-db 14]

The databases `mairie_bench_appointments_burst` and `mairie_bench_appointments_pgbench` (on
`BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432) are dropped and created
again at each run; the Redis database (default 14) must be empty and is emptied at the end.
"""

import argparse
import datetime
import http.client
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _appointments import (  # noqa: E402
    DATABASE_PREFIX,
    FIGURES_HEADER,
    JUST_TAKEN,
    ConnectionSampler,
    RedisDatabase,
    add_availabilities,
    add_pool_argument,
    asgi_server,
    database_label,
    figures,
    fresh_postgres_database,
    load_average,
    log,
    machine_cpu_seconds,
    make_agents,
    make_counter,
    make_organisation,
    make_type,
    percentile,
    pool_environment,
    postgres_cpu_seconds,
    request,
    server_cpu_seconds,
    server_environment,
    setup_django,
    working_days,
)

BURST_DATABASE = f"{DATABASE_PREFIX}_burst"
PGBENCH_DATABASE = f"{DATABASE_PREFIX}_pgbench"
TARGET_P95_MS = 300.0
TRIES = 3
SLOT_LINK = re.compile(r'href="(/rendez-vous/[0-9a-f-]{36}/creneau/[0-9a-f-]{36}/)"')
RETRYABLE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


# --- The plan ---------------------------------------------------------------------------------


def prepare(loop_slots: int):
    """The released type: 2 counters of 5 agents, 5 working days, 9:00–12:20 (10 slots of 20
    minutes an agent a day): 500 slots. The closed loop's type: its own counter and agents,
    enough slots for the loop."""
    from mairie.appointments import services
    from mairie.appointments.models import Slot

    organisation = make_organisation()
    agents = make_agents(organisation, 10)
    every_day = {weekday: [(datetime.time(8), datetime.time(18))] for weekday in range(7)}
    counters = [make_counter(organisation, name, hours=every_day)
                for name in ("Mairie centrale", "Mairie annexe du Port")]
    days = working_days(counters[0], 5, after_days=2)
    for n, counter in enumerate(counters):
        add_availabilities(counter, agents[5 * n:5 * n + 5], on_dates=days,
                           ranges=[(datetime.time(9), datetime.time(12, 20))])
    passport = make_type(organisation, name="Passeport et carte d'identité", counters=counters,
                         agents=agents, duration=20, capacity=1, max_days_ahead=30)

    loop_agents = make_agents(organisation, 40, prefix="boucle")
    loop_counter = make_counter(organisation, "Maison France Services", hours=every_day)
    per_agent_day = 20
    loop_days = working_days(loop_counter, max(1, -(-loop_slots // (40 * per_agent_day))),
                             after_days=2)
    add_availabilities(loop_counter, loop_agents, on_dates=loop_days,
                       ranges=[(datetime.time(9), datetime.time(12, 20)),
                               (datetime.time(14), datetime.time(17, 20))])
    loop_type = make_type(organisation, name="Carte d'identité (boucle fermée)",
                          counters=[loop_counter], agents=loop_agents, duration=20,
                          capacity=1, max_days_ahead=60)
    started = time.perf_counter()
    created = services.generate_slots(appointment_type=passport, start=days[0],
                                      end=days[-1]).created
    released = time.perf_counter() - started
    services.generate_slots(appointment_type=loop_type, start=loop_days[0], end=loop_days[-1])
    if created != 500:
        sys.exit(f"{created} slots released, 500 expected.")
    log(f"Released {created} slots ({len(counters)} counters, {len(agents)} agents, "
        f"{len(days)} days) in {released:.2f} s; "
        f"{Slot.objects.filter(appointment_type=loop_type).count()} slots for the closed loop")
    return passport, loop_type


# --- The simulated residents (client processes, one thread each) ----------------------------


class Journey:
    """One resident on their own keep-alive connection; records (kind, ms, status, end)."""

    def __init__(self, number: int, port: int, think: tuple[float, float], seed: int):
        self.number, self.port, self.think = number, port, think
        self.rng = random.Random(seed)
        self.connection = None
        self.cookies: dict[str, str] = {}
        self.records: list[tuple[str, float, object, float]] = []
        self.outcome = "?"

    def _pause(self, share: float = 1.0) -> None:
        low, high = self.think
        time.sleep(self.rng.uniform(low, high) * share)

    def _request(self, kind: str, method: str, path: str, **kwargs):
        for attempt in (1, 2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                             timeout=120)
            try:
                answer = request(self.port, method, path, connection=self.connection,
                                 cookies=self.cookies, **kwargs)
            except RETRYABLE as error:  # the server closed the idle keep-alive connection
                self.connection.close()
                self.connection = None
                if reused and attempt == 1:
                    continue
                self.records.append((kind, 0.0, type(error).__name__, time.time()))
                return None
            except OSError as error:
                self.connection.close()
                self.connection = None
                self.records.append((kind, 0.0, type(error).__name__, time.time()))
                return None
            self.records.append((kind, answer.elapsed_ms, answer.status, time.time()))
            self.cookies.update(answer.cookies())  # a browser's cookie jar
            return answer
        return None

    def _pick(self, offered: list[str]) -> str:
        """One of the slots the page shows (20 on the search page, 5 after « vient d'être
        pris »), mildly biased to the earlier ones: the first is 3 times as likely as the
        20th (weight 1 / (1 + rank / 10))."""
        return self.rng.choices(offered, weights=[1 / (1 + rank / 10)
                                                  for rank in range(len(offered))])[0]

    def run(self, type_path: str) -> None:
        search = self._request("search", "GET", type_path)
        if search is None or search.status != 200:
            self.outcome = "error"
            return
        offered = SLOT_LINK.findall(search.text)
        if not offered:
            self.outcome = "nothing offered"
            return
        self._pause(0.5)
        choice = self._pick(offered)
        for _try in range(TRIES):
            form = self._request("form", "GET", choice)
            if form is None or form.status != 200:
                self.outcome = "error"
                return
            if JUST_TAKEN.search(form.text):  # taken since the search: the page offers others
                offered = SLOT_LINK.findall(form.text)
            else:
                self._pause()
                data = {"csrfmiddlewaretoken": form.csrf_token(),
                        "name": f"Résident Rafale {self.number}",
                        "email": f"rafale{self.number:05d}@example.org",
                        "phone": f"06 13 {self.number // 10000 % 100:02d} "
                                 f"{self.number // 100 % 100:02d} {self.number % 100:02d}"}
                posted = self._request("book", "POST", choice, data=data)
                if posted is None:
                    self.outcome = "error"
                    return
                if posted.status == 302:
                    self._request("confirmation", "GET", posted.location())
                    self.outcome = "booked"
                    return
                if posted.status != 200 or not JUST_TAKEN.search(posted.text):
                    self.outcome = f"refused {posted.status}"
                    return
                offered = SLOT_LINK.findall(posted.text)
            if not offered:
                self.outcome = "just taken, nothing else offered"
                return
            self._pause(0.3)
            choice = self._pick(offered)
        self.outcome = f"just taken {TRIES} times"


def residents_process(port: int, type_path: str, jobs: list, think, t0: float,
                      results) -> None:
    journeys = []

    def one(number: int, at: float) -> None:
        time.sleep(max(0.0, t0 + at - time.time()))
        journey = Journey(number, port, think, seed=number)
        journeys.append(journey)
        try:
            journey.run(type_path)
        except Exception as error:  # noqa: BLE001 — every failure is a figure
            journey.outcome = f"client error {type(error).__name__}"
        finally:
            if journey.connection is not None:
                journey.connection.close()

    threads = [threading.Thread(target=one, args=job, daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put([(j.number, j.outcome, j.records) for j in journeys])


# --- CPU per page ----------------------------------------------------------------------------


def cpu_per_page(port: int, loop_type, count: int) -> list[tuple]:
    """Before the burst, one request at a time on a keep-alive connection, `count` of each
    kind in a row, on the closed loop's type (its last slots, which the loop does not reach):
    the CPU milliseconds per request of the server's processes and of the PostgreSQL backends
    of the benchmark's database, and the median latency. Kinds: the search page,
    the form of a free slot, its booking (302), the confirmation, the form of a slot taken
    since (« vient d'être pris » and 5 others) and a booking refused because the slot was just
    taken (another person, on a slot booked above)."""
    import statistics

    from django.db import connections
    from django.urls import reverse

    from mairie.appointments.models import Slot

    slots = list(Slot.objects.filter(appointment_type=loop_type).order_by("-start", "-pk")
                 .values_list("pk", flat=True)[:count])
    connections.close_all()
    type_path = reverse("appointments:free-slots", args=[loop_type.pk])
    paths = [reverse("appointments:book", args=[loop_type.pk, pk]) for pk in slots]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def person(n: int, tag: int) -> dict:
        return {"name": f"Résident Mesure {tag} {n}",
                "email": f"mesure{tag}-{n:05d}@example.org",
                "phone": f"06 15 {tag:02d} {n // 100 % 100:02d} {n % 100:02d}"}

    rows, state = [], {}

    def batch(kind: str, calls) -> None:
        server, database = server_cpu_seconds(port), postgres_cpu_seconds(BURST_DATABASE)
        answers = [call() for call in calls]
        server = server_cpu_seconds(port) - server
        database = postgres_cpu_seconds(BURST_DATABASE) - database
        statuses = Tally(str(answer.status) for answer in answers)
        rows.append((kind, len(answers), 1000 * server / len(answers),
                     1000 * database / len(answers),
                     statistics.median(answer.elapsed_ms for answer in answers),
                     dict(statuses)))
        state[kind] = answers

    def get(path, cookies=None):
        return lambda: request(port, "GET", path, cookies=cookies, connection=connection)

    def post(path, data, cookies):
        return lambda: request(port, "POST", path, data=data, cookies=cookies,
                               connection=connection)

    for _ in range(5):
        request(port, "GET", type_path, connection=connection)
    batch("search", [get(type_path) for _ in paths])
    batch("form", [get(path) for path in paths])
    forms = state["form"]
    batch("book", [post(path, {"csrfmiddlewaretoken": form.csrf_token(), **person(n, 1)},
                        form.cookies())
                   for n, (path, form) in enumerate(zip(paths, forms, strict=True))])
    batch("confirmation", [get(answer.location(), form.cookies())
                           for answer, form in zip(state["book"], forms, strict=True)])
    batch("form, taken", [get(path) for path in paths])
    taken_forms = state["form, taken"]
    batch("book, taken", [post(path, {"csrfmiddlewaretoken": form.csrf_token(),
                                      **person(n, 2)}, form.cookies())
                          for n, (path, form) in enumerate(zip(paths, taken_forms, strict=True))])
    connection.close()
    return rows


# --- The closed loop --------------------------------------------------------------------------


def loop_process(number: int, port: int, paths: list[str], seconds: float, start,
                 results) -> None:
    """Bookings back to back on this process's own slots, for `seconds` from the start."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _attempt in range(10):  # the form's CSRF cookie and token, reused for every post
        form = request(port, "GET", paths[0], connection=connection)
        token, cookies = form.csrf_token(), form.cookies()
        if token:
            break
        time.sleep(0.5)
    done: list[tuple[float, float, object]] = []
    start.wait()
    until = time.time() + seconds
    for n, path in enumerate(paths):
        if time.time() >= until:
            break
        person = number * 10000 + n
        data = {"csrfmiddlewaretoken": token, "name": f"Résident Boucle {person}",
                "email": f"boucle{person:07d}@example.org",
                "phone": f"06 14 {number % 100:02d} {n // 100 % 100:02d} {n % 100:02d}"}
        try:
            answer = request(port, "POST", path, data=data, cookies=cookies,
                             connection=connection)
            done.append((time.time(), answer.elapsed_ms, answer.status))
        except OSError as error:
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            done.append((time.time(), 0.0, type(error).__name__))
    else:
        done.append((time.time(), 0.0, "ran out of slots"))
    connection.close()
    results.put(done)


def closed_loop(port: int, loop_type, clients: int, seconds: float) -> dict:
    from django.db import connections
    from django.urls import reverse

    from mairie.appointments.models import Slot

    slots = list(Slot.objects.filter(appointment_type=loop_type).order_by("start", "pk")
                 .values_list("pk", flat=True))
    connections.close_all()
    paths = [reverse("appointments:book", args=[loop_type.pk, pk]) for pk in slots]
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=loop_process, args=(
        n, port, paths[n::clients], seconds, start, results), daemon=True)
        for n in range(clients)]
    for process in processes:
        process.start()
    time.sleep(2)  # each reads its form
    with ConnectionSampler(BURST_DATABASE) as sampler:
        started = time.time()
        start.set()
        rows = [row for _ in processes for row in results.get(timeout=seconds + 300)]
    for process in processes:
        process.join(timeout=10)
    booked = [row for row in rows if row[2] == 302]
    statuses = Tally(str(row[2]) for row in rows)
    elapsed = max(row[0] for row in rows) - started
    return {"clients": clients, "booked": len(booked), "elapsed": elapsed,
            "tps": len(booked) / elapsed, "statuses": dict(statuses),
            "latency": [row[1] for row in booked], "sampler": sampler}


# --- pgbench -------------------------------------------------------------------------------------


def pgbench(clients: int, seconds: int = 15) -> float:
    """Single-row update TPS on the same server (own database, scale 10)."""
    binary = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if binary is None:
        log("pgbench not found (Debian: postgresql-client / postgresql-contrib): skipped")
        return 0.0
    url = fresh_postgres_database(PGBENCH_DATABASE)
    subprocess.run([str(binary), "-i", "-q", "-s", "10", url], check=True,
                   capture_output=True)
    folder = tempfile.mkdtemp(prefix="mairie-bench-pgbench-")
    script = Path(folder) / "update.sql"
    script.write_text("\\set aid random(1, 1000000)\n"
                      "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n")
    ran = subprocess.run([str(binary), "-n", "-c", str(clients), "-j", "2", "-T",
                          str(seconds), "-f", str(script), url],
                         check=True, capture_output=True, text=True)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", ran.stdout)
    if found is None:
        log(ran.stdout)
        return 0.0
    return float(found.group(1))


# --- Main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0, help="arrivals spread over")
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0),
                        metavar=("MIN", "MAX"), help="seconds between two pages")
    parser.add_argument("--loop-clients", type=int, default=16)
    parser.add_argument("--loop-seconds", type=float, default=20.0)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--cpu-requests", type=int, default=50,
                        help="requests of each kind for the CPU per page, before the burst")
    parser.add_argument("--conn-max-age", default="60",
                        help="DB_CONN_MAX_AGE of the server (production default 60)")
    add_pool_argument(parser)
    args = parser.parse_args()
    redis_db = RedisDatabase(args.redis_db)
    database = fresh_postgres_database(BURST_DATABASE)
    setup_django(database)
    from django.db import connections
    from django.urls import reverse

    passport, loop_type = prepare(loop_slots=int(args.loop_seconds * 200))
    type_path = reverse("appointments:free-slots", args=[passport.pk])
    connections.close_all()
    environment = {**server_environment(database, redis_db.url),
                   "DB_CONN_MAX_AGE": args.conn_max_age, **pool_environment(args)}
    rng = random.Random(2026)
    arrivals = sorted(rng.uniform(0, args.seconds) for _ in range(args.residents))
    jobs = list(enumerate(arrivals))
    context = multiprocessing.get_context("fork")
    try:
        with asgi_server(workers=args.workers, environment=environment) as port:
            for _ in range(5):  # warm the workers up
                request(port, "GET", type_path)
            per_page = cpu_per_page(port, loop_type, args.cpu_requests)
            load_before = load_average()
            server_before, machine_before = server_cpu_seconds(port), machine_cpu_seconds()
            results = context.Queue()
            t0 = time.time() + 3
            processes = [context.Process(target=residents_process, args=(
                port, type_path, jobs[n::args.processes], tuple(args.think), t0, results),
                daemon=True) for n in range(args.processes)]
            for process in processes:
                process.start()
            with ConnectionSampler(BURST_DATABASE) as sampler:
                journeys = [row for _ in processes for row in results.get(timeout=3600)]
                wall = time.time() - t0
            burst_cpu = (server_cpu_seconds(port) - server_before,
                         machine_cpu_seconds() - machine_before, load_before, load_average())
            for process in processes:
                process.join(timeout=10)
            log(f"Burst done in {wall:.1f} s; closed loop: {args.loop_clients} clients for "
                f"{args.loop_seconds:.0f} s")
            loop = closed_loop(port, loop_type, args.loop_clients, args.loop_seconds)
    finally:
        redis_db.close()
    log(f"pgbench: -c {args.loop_clients} -j 2 -T {args.pgbench_seconds}, single-row UPDATE")
    pg_tps = pgbench(args.loop_clients, args.pgbench_seconds)
    report(args, passport, journeys, wall, t0, sampler, loop, pg_tps, per_page, burst_cpu)


def report(args, passport, journeys, wall, t0, sampler, loop, pg_tps, per_page,
           burst_cpu) -> None:
    from django.db.models import Sum

    from mairie.appointments.models import Appointment, Slot

    failures = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Tally] = defaultdict(Tally)
    booked_at = []
    for _number, _outcome, records in journeys:
        for kind, ms, status, end in records:
            statuses[kind][str(status)] += 1
            if isinstance(status, int):
                by_kind[kind].append(ms)
            if kind == "book" and status == 302:
                booked_at.append(end - t0)
    outcomes = Tally(outcome for _n, outcome, _r in journeys)
    every = [ms for values in by_kind.values() for ms in values]
    server_errors = sum(n for tally in statuses.values() for status, n in tally.items()
                        if status.isdigit() and int(status) >= 500)
    made = len(booked_at)
    seats = Slot.objects.filter(appointment_type=passport).aggregate(n=Sum("booked"))["n"] or 0
    live = Appointment.objects.filter(appointment_type=passport,
                                      status=Appointment.Status.BOOKED).count()
    overbooked = Slot.objects.filter(appointment_type=passport, booked__gt=1).count()
    per_second = Tally(int(at) for at in booked_at)
    busiest_1 = max(per_second.values(), default=0)
    busiest_5 = max((sum(per_second.get(s + k, 0) for k in range(5)) / 5
                     for s in per_second), default=0.0)

    log(f"\nRelease burst: {args.residents} residents over {args.seconds:.0f} s (Poisson), think "
        f"{args.think[0]:.1f}-{args.think[1]:.1f} s, {args.processes} client processes; server "
        f"uvicorn x{args.workers} workers, {database_label(args)}, PostgreSQL + Redis; "
        f"{os.cpu_count()} cores")
    log(f"CPU per request, one request at a time before the burst ({args.cpu_requests} of "
        f"each kind, the closed loop's type):")
    log(f"{'  page':<16}{'server CPU ms':>14}{'PostgreSQL CPU ms':>18}{'p50 ms':>9}  statuses")
    for kind, _count, server_ms, database_ms, median, kind_statuses in per_page:
        log(f"  {kind:<14}{server_ms:>14.1f}{database_ms:>18.1f}{median:>9.1f}  "
            f"{kind_statuses}")
    server_cpu, machine_cpu, load_before, load_after = burst_cpu
    requests_made = sum(len(values) for values in by_kind.values())
    cores = os.cpu_count() or 1
    log(f"During the burst ({wall:.1f} s, {requests_made} requests, "
        f"{requests_made / wall:.0f} requests/s): server {server_cpu:.0f} CPU s = "
        f"{1000 * server_cpu / max(1, requests_made):.1f} ms a request; whole machine (any "
        f"process) busy {100 * machine_cpu / wall / cores:.0f} % of {cores} cores; load "
        f"average before {load_before}, after {load_after}")
    log(f"{'Request':<16}{FIGURES_HEADER}  statuses")
    for kind in ("search", "form", "book", "confirmation"):
        if by_kind.get(kind):
            log(f"{kind:<16}{figures(by_kind[kind])}  {dict(statuses[kind])}")
    p95 = percentile(every, .95) if every else float("inf")
    log(f"{'all':<16}{figures(every)}" if every else "no request answered")
    log("Residents: " + ", ".join(f"{label} {n}" for label, n in outcomes.most_common()))
    log(f"Bookings made (302): {made}; in the database: {live} live appointments, {seats} seats "
        f"booked of 500; slots over capacity: {overbooked}; 5xx: {server_errors}")
    last = max(booked_at, default=0.0)
    log(f"Booking throughput: busiest second {busiest_1} bookings, busiest 5 s "
        f"{busiest_5:.1f} bookings/s; last booking {last:.1f} s after the release")
    log(f"PostgreSQL during the burst: {sampler.summary()}")
    log(f"\nClosed loop ({loop['clients']} clients, bookings back to back, no contention on a "
        f"slot): {loop['booked']} bookings in {loop['elapsed']:.1f} s = {loop['tps']:.1f} "
        f"bookings/s; statuses {loop['statuses']}")
    if loop["latency"]:
        log(f"{'loop POST':<16}{FIGURES_HEADER}\n{'':<16}{figures(loop['latency'])}")
    log(f"PostgreSQL during the loop: {loop['sampler'].summary()}")
    if pg_tps:
        log(f"\npgbench single-row UPDATE: {pg_tps:.0f} TPS")
        log(f"Booking rate / pgbench TPS: burst busiest 5 s {busiest_5:.1f}/s = "
            f"{100 * busiest_5 / pg_tps:.2f} %; closed loop {loop['tps']:.1f}/s = "
            f"{100 * loop['tps'] / pg_tps:.2f} %")
    if server_errors:
        failures.append(f"{server_errors} 5xx answers")
    if not (made <= 500 and made == live == seats):
        failures.append(f"bookings {made} / live {live} / seats {seats} differ or exceed 500")
    if overbooked:
        failures.append(f"{overbooked} slots over capacity")
    if p95 >= TARGET_P95_MS:
        failures.append(f"overall p95 {p95:.0f} ms >= {TARGET_P95_MS:.0f} ms")
    errors = sum(n for tally in statuses.values() for status, n in tally.items()
                 if not status.isdigit())
    if errors:
        failures.append(f"{errors} network errors")
    if failures:
        log("FAILED: " + "; ".join(failures))
        sys.exit(1)
    log(f"OK: p95 {p95:.0f} ms < {TARGET_P95_MS:.0f} ms, {made} bookings = seats booked, "
        f"no 5xx")


if __name__ == "__main__":
    main()
