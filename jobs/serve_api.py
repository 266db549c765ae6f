"""Serve the identify HTTP API: python -m jobs.serve_api [--host 127.0.0.1] [--port 8503].

POST /identify (multipart field `image`), POST /identify/{id}/feedback, GET /model, GET /health,
and the OpenAPI page at /docs. The database comes from MONGO_URI (or the embedded server).
"""

from __future__ import annotations

import argparse
import logging

from core.config import Settings, check_port_free
from core.errors import UserError
from jobs._cli import run_cli


def parse_port(raw: str) -> int:
    """A TCP port number from the command line, or UserError."""
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise UserError(f"--port {raw!r} is not a port; use a whole number from 1 to 65535.")
    return port


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The command line, with defaults from the settings (API_HOST, API_PORT)."""
    parser = argparse.ArgumentParser(prog="python -m jobs.serve_api", description=__doc__)
    parser.add_argument(
        "--host",
        default=settings.api_host,
        help=f"address to listen on (API_HOST, {settings.api_host}; 0.0.0.0 for every address)",
    )
    parser.add_argument(
        "--port", default=str(settings.api_port), help=f"port (API_PORT, {settings.api_port})"
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not log one line per request"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    args = build_parser(settings).parse_args(argv)
    port = parse_port(args.port)
    check_port_free("--port", port, args.host)

    import uvicorn

    from api_app.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=port,
        access_log=not args.no_access_log,
        log_level="info",
    )
    return 0


if __name__ == "__main__":
    run_cli(main)
