"""`python -m mairie …`: Django's management commands, plus

- `demo`   load (or refresh) the demo collectivité, then serve it on http://127.0.0.1:8000;
- `serve`  the production ASGI server (uvicorn, several worker processes);
- `worker` a Celery worker with the beat scheduler embedded;
- `inbound-mail` one e-mail read on standard input, for the MTA's pipe (`inbound_mail`).
"""

import os
import sys

# Names the operators type (in an MTA's configuration) for Django commands.
COMMAND_ALIASES = {"inbound-mail": "inbound_mail"}


def _serve(argv: list[str]) -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m mairie serve")
    parser.add_argument("--host", default=os.environ.get("MAIRIE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int,
                        default=int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2)))
    args = parser.parse_args(argv)
    uvicorn.run("mairie.asgi:application", host=args.host, port=args.port,
                workers=args.workers, proxy_headers=True, forwarded_allow_ips="*",
                lifespan="off", log_level=os.environ.get("LOG_LEVEL", "info").lower())


def _worker(argv: list[str]) -> None:
    from mairie.celery import app

    app.worker_main(["worker", "--beat", "--loglevel=INFO", *argv])


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mairie.settings")
    command = argv[1] if len(argv) > 1 else "help"
    if command == "serve":
        _serve(argv[2:])
        return
    if command == "worker":
        import django

        django.setup()
        _worker(argv[2:])
        return
    from django.core.management import execute_from_command_line

    argv[0] = "python -m mairie"
    if command in COMMAND_ALIASES:
        argv[1] = COMMAND_ALIASES[command]
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
