"""Loopback HTTP front end: serve a :class:`Sandbox` with ``http.server.ThreadingHTTPServer``.

``serve`` starts it on a background thread and returns a :class:`ServerHandle` (``.url``, ``.shutdown()``,
usable as a context manager). ``run`` is what ``dotsync sandbox serve`` calls: it serves until Ctrl-C.
A dropped-connection fault closes the socket without writing a byte.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from dotsync.sandbox.core import Sandbox
from dotsync.sandbox.messages import SandboxRequest
from dotsync.sandbox.ratelimit import RateLimit
from dotsync.sandbox.seed import load_seed

DEFAULT_USERNAME = "apiuser-sandbox@apiconnector.com"
DEFAULT_PASSWORD = "sandbox-password"
# Seconds a served sandbox keeps contacts listed after a bulk removal (the real API takes "some minutes").
SERVED_REMOVAL_DELAY = 5.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes on a kept-alive connection: with Nagle's algorithm the body waits
    # for the client's delayed ACK, 40 ms per call (measured: 44 ms -> 1.3 ms per call).
    disable_nagle_algorithm = True
    server_version = "dotsync-sandbox/1"
    sys_version = ""
    sandbox: Sandbox  # set on the subclass built by ``serve``

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])  # type: ignore[index]
        request = SandboxRequest.build(
            self.command, self.path, dict(self.headers.items()), self._body(), f"http://{host}"
        )
        outcome = self.sandbox.handle(request)
        if outcome.response is None or outcome.drop_after:
            self.close_connection = True  # hang up without answering
            return
        answer = outcome.response
        # Not send_response(): it adds a Date from the machine's clock; the answer has the sandbox's.
        self.send_response_only(answer.status)
        self.send_header("Server", self.version_string())
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the sandbox's call log records every request."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (killed, timed out) is not a sandbox error: stay quiet about it."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class ServerHandle:
    """A running loopback server: ``url`` (``http://127.0.0.1:PORT``) and ``shutdown()``."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def shutdown(self) -> None:
        """Stop serving, close the listening socket and wait for the serving thread."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Serve ``sandbox`` on ``host:port`` (0 = any free port) from a background thread."""
    handler = type("SandboxHandler", (_Handler,), {"sandbox": sandbox})
    server = _Server((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.name = f"dotsync-sandbox-{server.server_address[1]}"
    thread.start()
    return ServerHandle(server, thread)


def _print(line: str) -> None:
    print(line, flush=True)


def _wait_forever() -> None:
    stop = threading.Event()
    while not stop.wait(3600):
        pass


def run(
    *,
    port: int = 0,
    username: str | None = None,
    password: str | None = None,
    seed: Path | str | None = None,
    host: str = "127.0.0.1",
    echo: Callable[[str], None] = _print,
    wait: Callable[[], None] = _wait_forever,
    rate_limit: RateLimit | None = None,
    removal_delay: float = SERVED_REMOVAL_DELAY,
    faults_ttl: float | None = None,
) -> int:
    """Serve a sandbox until Ctrl-C (``KeyboardInterrupt`` from ``wait``), then shut down; return 0.

    Accounts come from the seed file, plus ``username``/``password`` (defaults when neither a seed account
    nor a username is given). Prints the base URL and every accepted credential to stdout via ``echo``.
    ``rate_limit``, ``removal_delay`` and ``faults_ttl`` are the :class:`Sandbox` knobs; a served sandbox
    removes contacts from a book ``removal_delay`` seconds (default 5) after a bulk removal, as the real API
    does (in-process sandboxes default to 0).
    """
    sandbox = Sandbox(rate_limit=rate_limit, removal_delay=removal_delay, faults_ttl=faults_ttl)
    if seed is not None:
        load_seed(sandbox, seed)
    if username is not None or not sandbox.accounts:
        name = username or DEFAULT_USERNAME
        if name.lower() in sandbox.accounts:
            sandbox.account(name).password = password or DEFAULT_PASSWORD
        else:
            sandbox.add_account(name, password or DEFAULT_PASSWORD)
    handle = serve(sandbox, host, port)
    try:
        echo(f"Dotmailer sandbox listening on {handle.url} (API base {handle.url}/v2)")
        for account in sandbox.accounts.values():
            echo(f"  username: {account.username}  password: {account.password}")
        echo("Press Ctrl-C to stop.")
        try:
            wait()
        except KeyboardInterrupt:
            echo("Stopping the sandbox.")
    finally:
        handle.shutdown()
    return 0
