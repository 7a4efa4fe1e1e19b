"""The benchmark's sandbox, in a process of its own: its CPU time and memory are not counted as dotsync's.

:func:`start` spawns a child that serves a :class:`~dotsync.sandbox.Sandbox` on loopback (``http.server`` on a
thread) and obeys scripting commands sent over a pipe (set the clock, finish imports, send campaigns, count
calls per endpoint, digest the uploaded files). The clock is frozen and moved by the benchmark, as in the e2e
world, and dotsync's runs are given the same time, so cron cycles four minutes apart are reproducible.
"""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

USERNAME = "apiuser-bench@apiconnector.com"
PASSWORD = "bench-password-1"
# (data field, type): the five mapped fields; FIRSTNAME and LASTNAME exist in every account.
DATA_FIELDS = (("CITY", "String"), ("SCORE", "Numeric"), ("SIGNEDUP", "Date"))


def _serve(conn: Connection, start: datetime) -> None:
    from dotsync.sandbox import Sandbox

    now = [start]
    sandbox = Sandbox(clock=lambda: now[0], sleep=lambda _s: None, seed=1)
    sandbox.history.enabled = False  # the audit trail is for tests; it costs memory per contact
    sandbox.faults.hourly_call_limit = None  # the benchmark makes thousands of calls on a frozen clock
    sandbox.imports.polls_before_finish = 0  # the first poll applies the upload
    account = sandbox.add_account(USERNAME, PASSWORD, name="Benchmark account")
    for name, kind in DATA_FIELDS:
        account.create_data_field(name, kind)
    handle = sandbox.serve()
    conn.send(handle.url)

    def uploads_since(mark: int) -> dict[str, Any]:
        """The files uploaded since ``mark`` (before they are applied): sizes, rows, and the SHA-256 of their
        bodies (header lines left out) one after another."""
        files = []
        digest = hashlib.sha256()
        for imp in list(account.imports.values())[mark:]:
            data = imp.data or b""
            body = data[data.index(b"\r\n") + 2 :] if data else b""
            digest.update(body)
            rows = sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
            files.append({"bytes": len(data), "rows": rows})
        return {"files": files, "body_sha256": digest.hexdigest()}

    try:
        while True:
            command, args = conn.recv()
            with sandbox.lock:
                if command == "stop":
                    conn.send(None)
                    break
                if command == "set_time":
                    now[0] = args["when"]
                    reply: Any = None
                elif command == "create_book":
                    reply = account.create_book(args["name"]).id
                elif command == "finish_imports":
                    sandbox.finish_imports()
                    reply = None
                elif command == "call_mark":
                    reply = len(sandbox.calls)
                elif command == "calls_since":
                    reply = dict(Counter(r.endpoint for r in sandbox.calls.records[args["mark"] :]))
                elif command == "upload_mark":
                    reply = len(account.imports)
                elif command == "uploads_since":
                    reply = uploads_since(args["mark"])
                elif command == "send_campaigns":
                    when = args["when"]
                    books = args["books"]
                    for i in range(args["count"]):
                        account.send_campaign(
                            f"Campaign {i + 1}", [books[i % len(books)]], opens=2, clicks=1, when=when
                        )
                    reply = None
                elif command == "book_size":
                    reply = len(account.member_emails(args["name"]))
                else:
                    reply = ValueError(f"unknown sandbox command {command!r}")
            conn.send(reply)
    finally:
        handle.shutdown()


class SandboxProcess:
    """The parent's handle on the sandbox child: ``url`` and one method per scripting command."""

    def __init__(self, start: datetime) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, start), daemon=True, name="bench-sandbox")
        self._process.start()
        child.close()
        self.url: str = self._conn.recv()
        self.now = start

    def _call(self, command: str, **args: Any) -> Any:
        self._conn.send((command, args))
        reply = self._conn.recv()
        if isinstance(reply, Exception):
            raise reply
        return reply

    def advance(self, minutes: float) -> datetime:
        self.now = self.now + timedelta(minutes=minutes)
        self._call("set_time", when=self.now)
        return self.now

    def create_book(self, name: str) -> int:
        return int(self._call("create_book", name=name))

    def finish_imports(self) -> None:
        self._call("finish_imports")

    def call_mark(self) -> int:
        return int(self._call("call_mark"))

    def calls_since(self, mark: int) -> dict[str, int]:
        return dict(self._call("calls_since", mark=mark))

    def upload_mark(self) -> int:
        return int(self._call("upload_mark"))

    def uploads_since(self, mark: int) -> dict[str, Any]:
        return dict(self._call("uploads_since", mark=mark))

    def send_campaigns(self, count: int, books: list[str], when: datetime) -> None:
        self._call("send_campaigns", count=count, books=books, when=when)

    def book_size(self, name: str) -> int:
        return int(self._call("book_size", name=name))

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._call("stop")
            except (EOFError, OSError):
                pass
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)


def epoch() -> datetime:
    return datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
