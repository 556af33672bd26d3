"""Fixtures of the notifications tests: a temporary kind, a real ASGI server, a real worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from mairie.core.notifications.kinds import register_kind, unregister_kind
from mairie.core.notifications.models import Frequency


def wait_until(predicate: Callable[[], object], *, timeout: float = 30, what: str = "") -> object:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.1)


@pytest.fixture
def daily_kind():
    """A kind whose default frequency is the daily digest, registered for one test."""
    code = "tests.daily_summary"
    register_kind(code, "Résumé de test", default_frequency=Frequency.DAILY)
    yield code
    unregister_kind(code)


# --- A real ASGI server (uvicorn) in a thread of the test process ------------------------------

class RunningServer:
    def __init__(self, port: int):
        self.port = port
        self.host = f"127.0.0.1:{port}"

    def connect_socket(self) -> socket.socket:
        """A TCP connection to the server, for clients that must send another Host header."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)


@pytest.fixture
def asgi_server(transactional_db, monkeypatch):
    """`mairie.asgi:application` served by uvicorn on a free port, against the test database.

    A thread, not a subprocess, so that the in-memory channel layer (embedded mode) is shared
    with the test, which calls `notify()` itself. The plain asyncio loop is used: uvloop must
    not be woken from another thread, which the in-memory layer does when the test pushes.
    """
    import uvicorn
    from django.db import connection

    from mairie.asgi import application

    # Connections opened by the server's threads close after each request, so none is left
    # holding the test database (PostgreSQL refuses to drop it otherwise).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(application, lifespan="off", log_level="warning", loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=15, what="uvicorn to start")
    yield RunningServer(sock.getsockname()[1])
    server.should_exit = True
    thread.join(15)
    sock.close()


@pytest.fixture
def session_cookie(client):
    """Log a user in (a real session in the session store) and return the Cookie header."""
    from django.conf import settings

    def login(user) -> str:
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        return f"{name}={client.cookies[name].value}"

    return login


# --- A real Celery worker process --------------------------------------------------------------

def _database_url(settings_dict: dict) -> str:
    """The test database as a DATABASE_URL the worker process understands."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        name = str(settings_dict["NAME"])
        assert not name.startswith("file:") and name != ":memory:", (
            "the SQLite test database must be a file for another process to open it")
        return f"sqlite:///{name}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings_dict['NAME']}"


class WorkerProcess:
    def __init__(self, process: subprocess.Popen, log: Path, mail_dir: Path):
        self.process = process
        self.log = log
        self.mail_dir = mail_dir

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def sent_mails(self) -> str:
        if not self.mail_dir.exists():
            return ""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.mail_dir.iterdir()))


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """`python -m mairie worker` (worker + beat) in a subprocess, on a real broker.

    The broker is Redis when REDIS_URL is set, else kombu's filesystem transport in a temporary
    folder; a queue unique to this test keeps stale messages of other runs away. The test
    process publishes to the same broker (Celery stops being eager for the test's duration).
    """
    from django.conf import settings
    from django.db import connection

    from mairie.celery import app

    queue = f"tests-{uuid.uuid4().hex[:12]}"
    mail_dir = tmp_path / "mails"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mairie.settings",
        "MAIRIE_TESTING": "1",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "MAIRIE_VAR_DIR": str(tmp_path / "var"),
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
        "MAIRIE_NOTIFICATION_DIGEST_HOUR": "0",
        "LOG_LEVEL": "INFO",
    }
    overrides = {"task_always_eager": False, "task_default_queue": queue}
    if settings.REDIS_URL:
        env["CELERY_BROKER_URL"] = settings.REDIS_URL
        overrides["broker_url"] = settings.REDIS_URL
    else:
        folder = tmp_path / "broker"
        env.update(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_FOLDER=str(folder))
        for sub in ("queue", "control"):
            (folder / sub).mkdir(parents=True)
        overrides["broker_url"] = "filesystem://"
        overrides["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"), "store_processed": False,
        }
    saved = {key: app.conf.get(key) for key in overrides}
    app.conf.update(overrides)
    _forget_broker_connections(app)

    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mairie", "worker", "--pool=solo", "--without-mingle",
             "--without-gossip", "--without-heartbeat", "-Q", queue, "-n", f"{queue}@%h"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
            start_new_session=True,
        )
    worker = WorkerProcess(process, log, mail_dir)
    try:
        wait_until(lambda: "ready." in worker.output() or process.poll() is not None,
                   timeout=60, what="the Celery worker to be ready")
        assert process.poll() is None, worker.output()
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)  # warm shutdown: stops beat too
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        app.conf.update(saved)
        _forget_broker_connections(app)


def _forget_broker_connections(app) -> None:
    """Drop the app's pooled broker connections so the next publish uses the new broker URL
    (what Celery itself does after a fork)."""
    from kombu import pools

    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    pools.reset()  # closes and forgets kombu's process-wide connection and producer pools
