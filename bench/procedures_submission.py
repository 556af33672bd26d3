"""Benchmark of filing under load (issue 4, Performance, second bullet).

200 simulated residents, each signed in, file a complete dossier with a PDF attachment through
the production ASGI server (`python -m mairie serve`, uvicorn, 2 worker processes) on
PostgreSQL and Redis, exactly as a browser without JavaScript does: open the procedure page,
start, read and post each page (the second with the file, as multipart), read and post the
review, read the receipt. Each resident waits 2 to 8 seconds between two pages (a person
reading and typing). Confirmation e-mails go by SMTP to a local sink started here.

The load comes from separate client processes (threads of `requests` sessions), so the
server's workers are measured, not the client. Prints p50/p95 per step and overall, the
errors, the throughput of complete dossiers, and checks in the database that each journey
made exactly one submitted dossier with its file and a unique number.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mairie_bench \\
    REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/procedures_submission.py [--residents 200] [--processes 4]

The organisation, procedures and residents are those of `bench/procedures_inbox.py` (created
here when missing; the million dossiers are not needed).
"""

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mairie_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
HOST = "bench.localhost"
PROCEDURE_SLUG = "demarche-00"
THINK_SECONDS = (2.0, 8.0)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOCK = re.compile(r'name="lock_version" value="(\d+)"')
SESSION_COOKIE = "sessionid"


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- A local SMTP server that accepts every message (the commune's MTA) ---------------------


class SmtpSink:
    """Speaks enough SMTP (RFC 5321) for Django's SMTP backend: counts the messages."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages = 0
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", self.port))
        self._loop.run_forever()

    async def _session(self, reader, writer) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        in_data = False
        while line := await reader.readline():
            if in_data:
                if line in (b".\r\n", b".\n"):
                    in_data = False
                    self.messages += 1
                    writer.write(b"250 OK queued\r\n")
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 Bye\r\n")
                await writer.drain()
                break
            else:  # MAIL, RCPT, RSET, NOOP
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()


# --- Preparation (Django, in this process) ------------------------------------------------------


def prepare(residents: int) -> tuple[list[str], bytes, int]:
    """Session cookies of `residents` signed-in residents, a real PDF, the dossiers before."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mairie.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django.core.management import call_command
    from weasyprint import HTML

    from mairie.core.users.models import User
    from mairie.procedures.models import Dossier

    call_command("migrate", interactive=False, verbosity=0)
    import procedures_inbox  # the shared setup: organisation, agents, residents, procedures

    organisation, *_rest = procedures_inbox.setup_organisation()
    users = list(User.objects.filter(organisation=organisation, email__startswith="habitant")
                 .order_by("email")[:residents])
    backend = settings.AUTHENTICATION_BACKENDS[-1]
    cookies = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(session.session_key)
    pdf = HTML(string="<html lang='fr'><title>Justificatif</title><p>Attestation de "
               "domicile de test.</p></html>").write_pdf()
    before = Dossier.objects.filter(organisation=organisation,
                                    submitted_at__isnull=False).count()
    return cookies, pdf, before


# --- One simulated resident (client processes) ------------------------------------------------


def resident_journey(base: str, cookie: str, pdf: bytes, seed: int, start_delay: float,
                     results: list) -> None:
    import requests

    rng = random.Random(seed)
    time.sleep(start_delay)
    session = requests.Session()
    session.headers["Host"] = HOST
    session.cookies.set(SESSION_COOKIE, cookie)

    def step(name: str, method: str, path: str, **kwargs):
        started = time.perf_counter()
        try:
            response = session.request(method, base + path, allow_redirects=False,
                                       timeout=60, **kwargs)
            status = response.status_code
        except requests.RequestException as error:
            response, status = None, f"{type(error).__name__}"
        results.append((name, (time.perf_counter() - started) * 1000, status))
        time.sleep(rng.uniform(*THINK_SECONDS))
        return response

    def token(response) -> str:
        found = CSRF.search(response.text) if response is not None else None
        return found.group(1) if found else ""

    def location(response) -> str:
        found = response.headers.get("Location", "") if response is not None else ""
        return re.sub(r"^https?://[^/]+", "", found)

    page = step("procedure page", "GET", f"/demarches/{PROCEDURE_SLUG}/")
    started = step("start", "POST", f"/demarches/{PROCEDURE_SLUG}/",
                   data={"csrfmiddlewaretoken": token(page)})
    first = location(started)
    if not first:
        results.append(("journey", 0, "no dossier"))
        return
    form = step("page 1 (read)", "GET", first)
    lock = LOCK.search(form.text).group(1) if form is not None and LOCK.search(form.text) else "0"
    posted = step("page 1 (post)", "POST", first, data={
        "csrfmiddlewaretoken": token(form), "lock_version": lock, "action": "next",
        "nom": f"Habitant {seed}", "age": str(rng.randint(18, 90)), "situation": "seul"})
    second = location(posted)
    form = step("page 2 (read)", "GET", second)
    lock = LOCK.search(form.text).group(1) if form is not None and LOCK.search(form.text) else "0"
    posted = step("page 2 (post, PDF)", "POST", second, data={
        "csrfmiddlewaretoken": token(form), "lock_version": lock, "action": "next",
        "courriel": f"habitant{seed}@example.org"},
        files={"piece": ("justificatif.pdf", pdf, "application/pdf")})
    review = location(posted)
    form = step("review (read)", "GET", review)
    submitted = step("submit", "POST", review, data={"csrfmiddlewaretoken": token(form)})
    receipt = location(submitted)
    done = step("receipt", "GET", receipt) if receipt else None
    results.append(("journey", 0, 200 if done is not None and done.status_code == 200
                    else "incomplete"))


def client_process(base: str, jobs: list, pdf: bytes, queue) -> None:
    results: list = []
    threads = [threading.Thread(target=resident_journey, args=(base, cookie, pdf, seed, delay,
                                                               results))
               for cookie, seed, delay in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


# --- Measure ----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="seconds over which the residents arrive")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit(f"PostgreSQL needed (DATABASE_URL, e.g. {DEFAULT_DATABASE_URL}).")
    smtp = SmtpSink()
    media = tempfile.mkdtemp(prefix="mairie-bench-media-")
    os.environ.update({"DEBUG": "0", "MEDIA_ROOT": media,
                       "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
                       "ALLOWED_HOSTS": f"{HOST},127.0.0.1,localhost"})
    cookies, pdf, before = prepare(args.residents)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mairie", "serve", "--port", str(port),
         "--workers", str(args.workers)],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"})
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        for _ in range(120):
            try:
                if requests.get(base + "/", headers={"Host": HOST}, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            sys.exit("The server did not answer.")
        rng = random.Random(42)
        jobs = [(cookie, n, rng.uniform(0, args.ramp)) for n, cookie in enumerate(cookies)]
        queue = multiprocessing.get_context("spawn").Queue()
        processes = [multiprocessing.get_context("spawn").Process(
            target=client_process, args=(base, jobs[n::args.processes], pdf, queue))
            for n in range(args.processes)]
        started = time.perf_counter()
        for process in processes:
            process.start()
        results = [row for _ in processes for row in queue.get()]
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    report(results, elapsed, before, args, smtp)


def report(results: list, elapsed: float, before: int, args, smtp: SmtpSink) -> None:
    from mairie.core.tenancy.models import Organisation
    from mairie.procedures.models import Dossier, DossierFile

    organisation = Organisation.objects.get(slug="bench")
    by_step: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    journeys = [status for name, _ms, status in results if name == "journey"]
    for name, ms, status in results:
        if name == "journey":
            continue
        by_step[name].append(ms)
        if not (isinstance(status, int) and status < 400):
            errors[f"{name}: {status}"] += 1
    complete = journeys.count(200)
    new = (Dossier.objects.filter(organisation=organisation, submitted_at__isnull=False)
           .order_by("-submitted_at")[:complete])
    new_ids = [d.pk for d in new]
    numbers = {d.number for d in new}
    with_file = (DossierFile.objects.filter(dossier_id__in=new_ids)
                 .values("dossier_id").distinct().count())
    after = Dossier.objects.filter(organisation=organisation, submitted_at__isnull=False).count()
    all_ms = [ms for values in by_step.values() for ms in values]
    log(f"\n{args.residents} residents over {args.ramp:.0f} s ramp, think time "
        f"{THINK_SECONDS[0]:.0f}-{THINK_SECONDS[1]:.0f} s, {args.processes} client processes, "
        f"server: uvicorn x{args.workers} workers, PostgreSQL + Redis; {os.cpu_count()} cores")
    log(f"{'Step':<24}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, values in by_step.items():
        log(f"{name:<24}{len(values):>9}{statistics.median(values):>9.1f}"
            f"{percentile(values, 0.95):>9.1f}{max(values):>9.1f}")
    log(f"{'All requests':<24}{len(all_ms):>9}{statistics.median(all_ms):>9.1f}"
        f"{percentile(all_ms, 0.95):>9.1f}{max(all_ms):>9.1f}")
    log(f"Errors (4xx/5xx/network): {sum(errors.values())} {dict(errors) or ''}")
    log(f"Complete dossiers: {complete}/{args.residents} in {elapsed:.1f} s "
        f"({complete / elapsed:.2f} dossiers/s, {len(all_ms) / elapsed:.1f} requests/s)")
    log(f"Database: {after - before} new submitted dossiers, {len(numbers)} distinct numbers "
        f"among the newest {complete}, {with_file} with their file; "
        f"{smtp.messages} confirmation e-mails received by SMTP")


if __name__ == "__main__":
    main()
