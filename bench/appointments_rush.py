"""Benchmark of the rush on a few slots (issue 6, Performance: « no double booking »).

On PostgreSQL, in a fresh database: 10 slots of one type (capacity 1), the production ASGI
server (`python -m mairie serve`, uvicorn workers) with Redis for the cache and sessions, and
1,000 separate client processes. Each process opens its own HTTP connection and reads the
booking form of one of the 10 slots (CSRF cookie and token), then all wait for one start
signal and post their booking at the same moment (a new connection each, as a browser
submitting a form after a while), each with its own name, e-mail and phone.

Counts the bookings in the database (must be exactly 10), the clean refusals (200 with « vient
d'être pris »), the 5xx (must be 0) and other answers or network errors; checks that no slot
holds more than its capacity, that no seat is taken twice and that each slot's `booked`
equals its live appointments; prints them with the wall time and the PostgreSQL connections
seen. Exits 1 when a check fails.

    .venv/bin/python bench/appointments_rush.py [--clients 1000] [--workers 2] [--redis-db 13]

The database `mairie_bench_appointments_rush` (on `BENCH_POSTGRES_URL`, default
postgres://postgres@127.0.0.1:5432) is dropped and created again at each run; the Redis
database (default 13) must be empty and is emptied at the end. The residents' rate limits
(decision 0481) are raised for the server through APPOINTMENTS_BOOKINGS_PER_IP/_PER_EMAIL:
every simulated resident comes from 127.0.0.1.
"""

import argparse
import datetime
import multiprocessing
import os
import sys
import time
from collections import Counter as Tally
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
    log,
    make_agents,
    make_counter,
    make_organisation,
    make_type,
    pool_environment,
    request,
    server_environment,
    setup_django,
    working_days,
)

RUSH_DATABASE = f"{DATABASE_PREFIX}_rush"
SLOTS = 10


def prepare() -> tuple[object, list]:
    """One counter open every day, one agent there on one working day from 9:00 to 12:20: ten
    slots of 20 minutes of a passport type of capacity 1."""
    from mairie.appointments import services
    from mairie.appointments.models import Slot

    organisation = make_organisation()
    [agent] = make_agents(organisation, 1)
    counter = make_counter(organisation, "Accueil de la mairie", hours={
        weekday: [(datetime.time(8), datetime.time(18))] for weekday in range(7)})
    [day] = working_days(counter, 1, after_days=2)
    add_availabilities(counter, [agent], on_dates=[day],
                       ranges=[(datetime.time(9), datetime.time(12, 20))])
    passport = make_type(organisation, name="Passeport et carte d'identité", counters=[counter],
                         agents=[agent], duration=20, capacity=1, max_days_ahead=30)
    services.generate_slots(appointment_type=passport, start=day, end=day)
    slots = list(Slot.objects.filter(appointment_type=passport).order_by("start"))
    if len(slots) != SLOTS:
        sys.exit(f"{len(slots)} slots generated, {SLOTS} expected.")
    return passport, slots


# --- One client process ---------------------------------------------------------------------


def client(number: int, port: int, path: str, ready, start, results) -> None:
    """Read the form, say ready, wait for the start, post the booking; put what happened."""
    import http.client

    outcome = {"number": number, "path": path}
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        form = request(port, "GET", path, connection=connection)
        connection.close()
        outcome["form_status"], outcome["form_ms"] = form.status, form.elapsed_ms
        token, cookies = form.csrf_token(), form.cookies()
    except Exception as error:  # noqa: BLE001 — every failure is a figure
        outcome["form_status"], token, cookies = f"{type(error).__name__}", "", {}
    with ready.get_lock():
        ready.value += 1
    start.wait()
    if not token:
        outcome["status"] = "no form"
        results.put(outcome)
        return
    data = {"csrfmiddlewaretoken": token, "name": f"Résident Rush {number}",
            "email": f"rush{number:05d}@example.org",
            "phone": f"06 12 {number // 10000 % 100:02d} {number // 100 % 100:02d} "
                     f"{number % 100:02d}"}
    outcome["posted_at"] = time.time()
    try:
        answer = request(port, "POST", path, data=data, cookies=cookies)
        outcome["status"], outcome["ms"] = answer.status, answer.elapsed_ms
        outcome["taken"] = bool(JUST_TAKEN.search(answer.text))
        outcome["location"] = answer.location()
        if answer.status == 200 and not outcome["taken"]:
            outcome["snippet"] = _error_snippet(answer.text)
    except Exception as error:  # noqa: BLE001
        outcome["status"] = f"{type(error).__name__}: {error}"[:120]
    outcome["done_at"] = time.time()
    results.put(outcome)


def _error_snippet(text: str) -> str:
    import re

    found = re.search(r'class="[^"]*(?:error|errorlist)[^"]*"[^>]*>(.{0,200})', text, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()[:160] \
        if found else text[:160]


# --- Checks and figures ------------------------------------------------------------------------


def check_database(passport, slots) -> tuple[list[str], int, dict]:
    from django.db.models import Count

    from mairie.appointments.models import Appointment, Slot

    failures = []
    live = Appointment.objects.filter(appointment_type=passport,
                                      status=Appointment.Status.BOOKED)
    bookings = live.count()
    if bookings != len(slots):
        failures.append(f"{bookings} bookings in the database, {len(slots)} expected")
    duplicates = list(live.values("slot_id", "seat").annotate(n=Count("pk"))
                      .filter(n__gt=1))
    if duplicates:
        failures.append(f"seats taken twice: {duplicates}")
    per_slot = dict(live.values_list("slot_id").annotate(n=Count("pk")))
    for slot in Slot.objects.filter(appointment_type=passport):
        if slot.booked > slot.capacity:
            failures.append(f"slot {slot.pk} booked {slot.booked} > capacity {slot.capacity}")
        if slot.booked != per_slot.get(slot.pk, 0):
            failures.append(f"slot {slot.pk} booked {slot.booked} but "
                            f"{per_slot.get(slot.pk, 0)} live appointments")
    emails = set(live.values_list("email", flat=True))
    return failures, bookings, {"emails": emails}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--conn-max-age", default="60",
                        help="DB_CONN_MAX_AGE of the server (production default 60)")
    add_pool_argument(parser)
    args = parser.parse_args()
    redis_db = RedisDatabase(args.redis_db)
    database = fresh_postgres_database(RUSH_DATABASE)
    setup_django(database)
    from django.db import connections
    from django.urls import reverse

    passport, slots = prepare()
    paths = [reverse("appointments:book", args=[passport.pk, slot.pk]) for slot in slots]
    connections.close_all()  # the client processes are forked from this one

    environment = {**server_environment(database, redis_db.url),
                   "DB_CONN_MAX_AGE": args.conn_max_age, **pool_environment(args)}
    context = multiprocessing.get_context("fork")
    ready, start, results = context.Value("i", 0), context.Event(), context.Queue()
    try:
        with asgi_server(workers=args.workers, environment=environment) as port:
            check = request(port, "GET", paths[0])
            if check.status != 200 or not check.csrf_token():
                sys.exit(f"The booking form answered {check.status} without a CSRF token.")
            processes = [context.Process(target=client, args=(
                n, port, paths[n % len(paths)], ready, start, results), daemon=True)
                for n in range(args.clients)]
            forked = time.perf_counter()
            for process in processes:
                process.start()
            while ready.value < args.clients:
                if time.perf_counter() - forked > 600:
                    sys.exit(f"Only {ready.value} clients ready after 600 s.")
                time.sleep(0.05)
            log(f"{args.clients} client processes ready (forms read) in "
                f"{time.perf_counter() - forked:.1f} s; go")
            with ConnectionSampler(RUSH_DATABASE) as sampler:
                started = time.perf_counter()
                start.set()
                outcomes = [results.get(timeout=600) for _ in processes]
                wall = time.perf_counter() - started
            for process in processes:
                process.join(timeout=10)
    finally:
        redis_db.close()
    report(args, passport, slots, outcomes, wall, sampler)


def report(args, passport, slots, outcomes, wall, sampler) -> None:
    failures, bookings, found = check_database(passport, slots)
    statuses = Tally()
    for outcome in outcomes:
        status = outcome.get("status")
        if status == 302 and "/rendez-vous/" in outcome.get("location", ""):
            statuses["booked (302)"] += 1
        elif status == 200 and outcome.get("taken"):
            statuses["just taken (200)"] += 1
        elif isinstance(status, int) and status >= 500:
            statuses[f"5xx ({status})"] += 1
        else:
            statuses[f"other: {status} {outcome.get('snippet', '')}".strip()] += 1
    forms = Tally(str(o.get("form_status")) for o in outcomes)
    booked_emails = {f"rush{o['number']:05d}@example.org" for o in outcomes
                     if o.get("status") == 302}
    server_errors = sum(n for label, n in statuses.items() if label.startswith("5xx"))
    if server_errors:
        failures.append(f"{server_errors} 5xx answers")
    if booked_emails != found["emails"]:
        failures.append("the residents told « booked » are not those booked in the database")
    posts = [o["ms"] for o in outcomes if "ms" in o]
    post_done = [o["done_at"] for o in outcomes if "done_at" in o]
    post_sent = [o["posted_at"] for o in outcomes if "posted_at" in o]
    log(f"\nRush: {args.clients} client processes on {len(slots)} slots of capacity 1, server "
        f"uvicorn x{args.workers} workers, {database_label(args)}, PostgreSQL + Redis; "
        f"{os.cpu_count()} cores")
    log(f"Forms read before the start: {dict(forms)}")
    for label, count in sorted(statuses.items(), key=lambda item: -item[1]):
        log(f"  {label:<60}{count:>6}")
    log(f"Bookings in the database: {bookings} (expected {len(slots)}); 5xx: {server_errors}")
    if posts:
        log(f"{'POST latency':<24}{FIGURES_HEADER}\n{'':<24}{figures(posts)}")
    log(f"Wall time from the start signal to the last answer: {wall:.2f} s "
        f"(posts sent over {max(post_sent) - min(post_sent):.2f} s, last answer "
        f"{max(post_done) - min(post_sent):.2f} s after the first post)" if post_done
        else f"Wall time: {wall:.2f} s")
    log(f"PostgreSQL during the rush: {sampler.summary()}")
    if failures:
        log("FAILED: " + "; ".join(failures))
        sys.exit(1)
    log("OK: exactly one booking per seat, no overbooking, no 5xx")


if __name__ == "__main__":
    main()
