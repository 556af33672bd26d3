"""What the appointments benchmarks (bench/appointments_*.py) share: a fresh PostgreSQL database
of their own, Django set up from the environment as in production, the plan (an organisation,
counters and their hours, agents and their availabilities, a type), the production ASGI server
(`python -m mairie serve`) in a subprocess, a Redis database of their own, a sampler of the
server's PostgreSQL connections, raw HTTP/1.1 requests from client processes, and figures.

Not a benchmark itself (`make bench` skips bench/_*.py)."""

import contextlib
import datetime
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE_PREFIX = "mairie_bench_appointments"  # the only databases these benchmarks drop
HOST = "rdv-bench.localhost"


def log(message: str = "") -> None:
    print(message, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def figures(values: list[float]) -> str:
    return (f"{len(values):>7}{statistics.median(values):>9.1f}{percentile(values, .95):>9.1f}"
            f"{percentile(values, .99):>9.1f}{max(values):>9.1f}")


FIGURES_HEADER = f"{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"


# --- Database and Django -----------------------------------------------------------------------


def database_url(name: str) -> str:
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def fresh_postgres_database(name: str) -> str:
    """Drop and create `name` (one of ours only) on the benchmark server; its URL."""
    import psycopg

    if not name.startswith(DATABASE_PREFIX):
        sys.exit(f"Refusing to drop {name!r}: the benchmarks only drop {DATABASE_PREFIX}*.")
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def setup_django(database: str, **environment: str) -> None:
    """Configure Mairie from the environment (as production does), set Django up, migrate."""
    os.environ.update({
        "DATABASE_URL": database, "DEBUG": "0", "EMAIL_URL": "dummymail://",
        "MAIRIE_VAR_DIR": os.environ.get("MAIRIE_VAR_DIR")
        or tempfile.mkdtemp(prefix="mairie-bench-var-"),
        "ALLOWED_HOSTS": f"{HOST},127.0.0.1,localhost,testserver",
        "LOG_LEVEL": "WARNING", **environment})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mairie.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    log(f"Migrated {database.split('/')[-1]} in {time.perf_counter() - started:.1f} s")


def analyse() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- The plan ------------------------------------------------------------------------------


def make_organisation(name: str = "Commune de Rendez-Bench", slug: str = "rdv-bench"):
    from mairie.core.factories import OrganisationFactory

    return OrganisationFactory(name=name, slug=slug, hosts=[HOST])


def make_agents(organisation, count: int, prefix: str = "agent"):
    from mairie.core.users.models import User

    User.objects.bulk_create(
        User(organisation=organisation, email=f"{prefix}{n:03d}@rdv-bench.example",
             first_name="Agent", last_name=f"{prefix.capitalize()} {n:03d}", password="!")
        for n in range(count))
    return list(User.objects.filter(organisation=organisation,
                                    email__startswith=prefix).order_by("email"))


def make_counter(organisation, name: str, *, hours: dict[int, list[tuple]]):
    """A counter with its weekly hours ({weekday: [(start, end), …]}). Rows are written in bulk
    (no signal: the slots are generated explicitly by the benchmark)."""
    from mairie.appointments.models import Counter, OpeningHours

    counter = Counter.objects.create(organisation=organisation, name=name,
                                     address=f"{name}, 1 place de la Mairie")
    OpeningHours.objects.bulk_create(
        OpeningHours(counter=counter, weekday=weekday, start=start, end=end)
        for weekday, ranges in hours.items() for start, end in ranges)
    return counter


def add_availabilities(counter, agents, *, weekdays=(), ranges=(), on_dates=()) -> None:
    from mairie.appointments.models import AgentAvailability

    rows = [AgentAvailability(agent=agent, counter=counter, weekday=weekday, start=start,
                              end=end)
            for agent in agents for weekday in weekdays for start, end in ranges]
    rows += [AgentAvailability(agent=agent, counter=counter, on_date=day, start=start, end=end)
             for agent in agents for day in on_dates for start, end in ranges]
    AgentAvailability.objects.bulk_create(rows)


def make_type(organisation, *, name: str, counters, agents, duration: int = 20,
              capacity: int = 1, max_days_ahead: int = 92, min_notice_hours: int = 2,
              max_future_per_person: int = 1):
    """The type, its counters and agents, in bulk (no regeneration signal)."""
    from mairie.appointments.models import AppointmentType

    [appointment_type] = AppointmentType.objects.bulk_create([AppointmentType(
        organisation=organisation, name=name, duration_minutes=duration, capacity=capacity,
        max_days_ahead=max_days_ahead, min_notice_hours=min_notice_hours,
        max_future_per_person=max_future_per_person)])
    AppointmentType.counters.through.objects.bulk_create(
        AppointmentType.counters.through(appointmenttype_id=appointment_type.pk,
                                         counter_id=counter.pk) for counter in counters)
    AppointmentType.agents.through.objects.bulk_create(
        AppointmentType.agents.through(appointmenttype_id=appointment_type.pk,
                                       user_id=agent.pk) for agent in agents)
    return AppointmentType.objects.select_related("organisation").get(pk=appointment_type.pk)


def working_days(counter, count: int, *, after_days: int = 1) -> list[datetime.date]:
    """The next `count` days from `after_days` on that are neither Sunday nor a holiday."""
    from mairie.appointments import schedule

    first = datetime.date.today() + datetime.timedelta(days=after_days)
    holidays = schedule.public_holidays(counter, first, first + datetime.timedelta(days=400))
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 6 and day not in holidays:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def bulk_book(appointment_type, slots, *, email_prefix: str = "habitant") -> None:
    """Book one seat of each of `slots` directly (seat 0, one resident each), as if they had
    been booked one by one (the searches only see `booked`)."""
    from mairie.appointments.models import Appointment, Slot

    ids = [slot.pk for slot in slots]
    for n in range(0, len(ids), 5000):
        Slot.objects.filter(pk__in=ids[n:n + 5000]).update(booked=1)
    Appointment.objects.bulk_create(
        (Appointment(organisation_id=appointment_type.organisation_id, slot_id=slot.pk,
                     seat=0, name=f"Habitant {n}", email=f"{email_prefix}{n}@example.org",
                     email_key=f"{email_prefix}{n}@example.org", phone="",
                     appointment_type_id=appointment_type.pk, starts_at=slot.start)
         for n, slot in enumerate(slots)), batch_size=2000)




# --- The server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisDatabase:
    """A Redis database number for one run: refused if it holds keys, emptied at the end."""

    def __init__(self, number: int, url: str = "redis://127.0.0.1:6379"):
        import redis

        self.url = f"{url}/{number}"
        self.client = redis.Redis.from_url(self.url)
        if self.client.dbsize():
            sys.exit(f"Redis database {number} is not empty: choose another (--redis-db).")

    def close(self) -> None:
        self.client.flushdb()


SERVER_PIDS: dict[int, int] = {}  # port -> pid of the `python -m mairie serve` process


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc: Linux only)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def server_cpu_seconds(port: int) -> float:
    """CPU time (user + system) used so far by the server on `port` and its worker
    processes; 0.0 when unknown (not Linux)."""
    pid = SERVER_PIDS.get(port)
    if pid is None or not Path("/proc").is_dir():
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in _process_tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def postgres_cpu_seconds(database: str) -> float:
    """CPU time used so far by the live PostgreSQL backends connected to `database` (local
    server, Linux only; a backend that has exited no longer counts); 0.0 when unknown."""
    if not Path("/proc").is_dir():
        return 0.0
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            if not command.startswith(b"postgres: ") or marker not in command:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def machine_cpu_seconds() -> float:
    """CPU time used so far by the whole machine (every core, all but idle and iowait):
    the server, PostgreSQL, Redis and the benchmark's own processes; 0.0 when unknown."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in first]
    busy = sum(values[:8]) - values[3] - values[4]  # minus idle, iowait (guest is in user)
    return busy / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


@contextlib.contextmanager
def asgi_server(*, workers: int, environment: dict[str, str]):
    """`python -m mairie serve` on a free port with the benchmark's environment; yields the
    port once the server answers, stops it afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mairie", "serve", "--port", str(port), "--workers",
         str(workers)], cwd=ROOT, env={**os.environ, **environment, "LOG_LEVEL": "WARNING"})
    try:
        for _ in range(240):
            if server.poll() is not None:
                sys.exit(f"The server stopped (exit status {server.returncode}).")
            try:
                if request(port, "GET", "/rendez-vous/").status < 500:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        else:
            sys.exit("The server did not answer.")
        SERVER_PIDS[port] = server.pid
        yield port
    finally:
        SERVER_PIDS.pop(port, None)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


class ConnectionSampler:
    """Samples, every 0.2 s, the connections to `database` in pg_stat_activity (all, active,
    waiting on a lock) and tallies what the waiting ones wait on (their statement)."""

    def __init__(self, database: str, interval: float = 0.2):
        self.database, self.interval = database, interval
        self.samples: list[tuple[int, int, int]] = []
        self.waiting: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT state, wait_event_type, query FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [self.database]).fetchall()
                waiting = [query for _state, wait, query in rows if wait == "Lock"]
                self.samples.append((len(rows), sum(1 for r in rows if r[0] == "active"),
                                     len(waiting)))
                for query in waiting:
                    label = _statement_label(query)
                    self.waiting[label] = self.waiting.get(label, 0) + 1
                self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.samples:
            return "no sample"
        text = (f"max {max(s[0] for s in self.samples)} connections open, "
                f"max {max(s[1] for s in self.samples)} active, "
                f"max {max(s[2] for s in self.samples)} waiting on a lock "
                f"(PostgreSQL max_connections {max_connections()})")
        if self.waiting:
            total = sum(self.waiting.values())
            text += "\n  lock waits sampled: " + ", ".join(
                f"{label} {100 * n / total:.0f} %" for label, n in
                sorted(self.waiting.items(), key=lambda item: -item[1]))
        return text


def _statement_label(query: str) -> str:
    """What a statement waiting on a lock is, in a few words."""
    text = " ".join(query.split())
    if "pg_advisory_xact_lock" in text:
        return "advisory lock (person)"
    table = re.search(r'(?:FROM|UPDATE|INTO) "?(\w+)"?', text)
    verb = text.split(" ", 1)[0].upper()
    suffix = " FOR UPDATE" if "FOR UPDATE" in text else ""
    return f"{verb} {table.group(1) if table else '?'}{suffix}"


def max_connections() -> int:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        return int(conn.execute("SHOW max_connections").fetchone()[0])


def server_environment(database: str, redis_url: str) -> dict[str, str]:
    """What the server processes get: production-like settings, the resident rate limits of
    decision 0481 raised (every simulated resident comes from 127.0.0.1), e-mails dropped."""
    return {"DATABASE_URL": database, "REDIS_URL": redis_url, "DEBUG": "0",
            "EMAIL_URL": "dummymail://", "ALLOWED_HOSTS": f"{HOST},127.0.0.1,localhost",
            "MAIRIE_VAR_DIR": os.environ["MAIRIE_VAR_DIR"],
            "CACHE_KEY_PREFIX": "rdv-bench", "CELERY_TASK_DEFAULT_QUEUE": "rdv-bench",
            "APPOINTMENTS_BOOKINGS_PER_IP": "100000000",
            "APPOINTMENTS_BOOKINGS_PER_EMAIL": "100000000",
            "APPOINTMENTS_WAITING_LIST_PER_IP": "100000000"}


def add_pool_argument(parser) -> None:
    parser.add_argument(
        "--db-pool", type=int, default=20, metavar="MAX",
        help="DB_POOL_MAX of the server: its psycopg connection pool per worker process "
             "(production default 20, decision 0494); 0 for persistent per-thread "
             "connections (DB_CONN_MAX_AGE)")
    parser.add_argument(
        "--in-flight", type=int, default=0, metavar="N",
        help="WEB_MAX_IN_FLIGHT of the server: requests let into Django at once per worker, "
             "the others wait their turn (decision 0500); default: the pool's size")


def pool_environment(args) -> dict[str, str]:
    environment = {"DB_POOL_MAX": str(args.db_pool)}
    if args.in_flight:
        environment["WEB_MAX_IN_FLIGHT"] = str(args.in_flight)
    return environment


def database_label(args) -> str:
    in_flight = args.in_flight or args.db_pool or 20
    if args.db_pool:
        return (f"psycopg pool of {args.db_pool} connections per worker (DB_POOL_MAX), "
                f"{in_flight} requests in flight per worker (WEB_MAX_IN_FLIGHT)")
    return f"no pool, DB_CONN_MAX_AGE={args.conn_max_age}, {in_flight} requests in flight"


# --- HTTP from the client processes (standard library only) ------------------------------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
JUST_TAKEN = re.compile(r"vient d(?:'|&#x27;|&#39;|’)être pris")


class Response:
    def __init__(self, status: int, headers, body: bytes, elapsed_ms: float):
        self.status, self.headers, self.elapsed_ms = status, headers, elapsed_ms
        self.text = body.decode("utf-8", "replace")

    def cookies(self) -> dict[str, str]:
        found = {}
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                found[key.strip()] = val.strip()
        return found

    def location(self) -> str:
        for name, value in self.headers:
            if name.lower() == "location":
                return re.sub(r"^https?://[^/]+", "", value)
        return ""

    def csrf_token(self) -> str:
        found = CSRF_INPUT.search(self.text)
        return found.group(1) if found else ""


def request(port: int, method: str, path: str, *, data: dict | None = None,
            cookies: dict | None = None, connection: http.client.HTTPConnection | None = None,
            timeout: float = 120.0) -> Response:
    """One request (on `connection` when given, kept open; else on a new one, closed)."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": HOST, "User-Agent": "mairie-bench"}
    body = None
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if data is not None:
        body = urlencode(data)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        content = answer.read()
    finally:
        if connection is None:
            conn.close()
    return Response(answer.status, answer.getheaders(), content,
                    (time.perf_counter() - started) * 1000)
