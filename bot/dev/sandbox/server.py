"""The sandbox as a server: its Flask app, a threaded werkzeug server, and the entry points."""

from __future__ import annotations

import argparse
import logging

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bot.dev.sandbox import api, control, media, platform_control
from bot.dev.sandbox.state import SandboxState
from bot.paths import TEMPLATES_DIR

logger = logging.getLogger(__name__)


def create_sandbox_app() -> Flask:
    """Build the sandbox Flask app; its state is ``app.extensions["sandbox"]``."""
    # The calls page is templates/dev/sandbox.html, in the project's templates folder.
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR))
    app.extensions["sandbox"] = SandboxState()
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(platform_control.bp)
    return app


class _QuietRequestHandler(WSGIRequestHandler):
    """Request handler that keeps per-request access lines out of the normal log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Every API call is already recorded in /_sandbox/calls, and the page polls every 2 s;
        # access lines at INFO level would drown the bot's own output.
        logger.debug("%s %s -> %s", self.command, self.path, code)


def make_sandbox_server(
    host: str = "127.0.0.1", port: int = 5001, app: Flask | None = None
) -> BaseWSGIServer:
    """Create (but do not start) the threaded sandbox server; port 0 picks a free port.

    The bound port is ``server.port``; stop a running server with ``server.shutdown()``.
    """
    return make_server(
        host,
        port,
        app if app is not None else create_sandbox_app(),
        threaded=True,
        request_handler=_QuietRequestHandler,
    )


def run_sandbox(host: str = "127.0.0.1", port: int = 5001) -> None:
    """Serve the sandbox until interrupted (single process, one thread per request)."""
    server = make_sandbox_server(host, port)
    base = f"http://{host}:{server.port}"
    logger.info("WeChat API sandbox: API base %s/cgi-bin/ , call log %s/_sandbox/", base, base)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: ``python -m bot.dev.sandbox [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(description="Local WeChat server-API sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument(
        "--fast", action="store_true", help="the asyncio server, for load (bot.dev.sandbox.fast)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.fast:
        from bot.dev.sandbox.fast import run_fast

        run_fast(create_sandbox_app(), args.host, args.port)
        return
    run_sandbox(args.host, args.port)
