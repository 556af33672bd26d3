"""`python -m mairie serve` runs the production ASGI server with several worker processes."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[Path]:
    """Child processes of `pid`, read from Linux's /proc."""
    return [p for p in Path("/proc").iterdir() if p.name.isdigit()
            and (p / "stat").exists()
            and (p / "stat").read_text().split(") ", 1)[-1].split()[1] == str(pid)]


def test_serve_answers_with_several_workers(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(MAIRIE_VAR_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    run = [sys.executable, "-m", "mairie"]
    subprocess.run([*run, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    subprocess.run([*run, "shell", "-c",
                    "from mairie.core.tenancy.models import Organisation; "
                    "Organisation.objects.create(name='Commune de Servy', slug='servy', "
                    "is_default=True)"], env=env, cwd=ROOT, check=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen([*run, "serve", "--port", str(port), "--workers", "2"], env=env,
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        body, deadline = "", time.monotonic() + 60
        while time.monotonic() < deadline and not body:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    body = response.read().decode()
            except OSError:
                time.sleep(0.5)
        assert "Commune de Servy" in body
        assert "Bienvenue sur vos services en ligne" in body
        assert len(_children(server.pid)) >= 2  # the supervisor's worker processes
    finally:
        server.terminate()
        server.wait(timeout=30)
