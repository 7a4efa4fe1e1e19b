"""A scripted world for end-to-end tests: the sandbox, one integration (``acme``) created through the CLI, lists,
cron cycles, and what the sandbox holds.

Two ways to reach the sandbox, one class:

- in-process (the ``world`` fixture): the CLI runs in-process (``cli_run``) and reaches the sandbox through its
  transport, on the sandbox's clock, with a fake sleep: fast, and time moves only when a test says so;
- served (``serve=True``, the reliability suites' ``served`` fixture): the sandbox answers on 127.0.0.1 in a
  thread, so dotsync can also run as real processes (``spawn``) that race for the lock or are killed, as under
  cron; set-up and convergence cycles still run in-process.

Every request, either way, goes through ``hook`` (when set) after the sandbox answered, with its number.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

from dotsync.cli.context import AppContext
from dotsync.sandbox import Sandbox
from dotsync.sandbox.messages import Outcome, SandboxRequest
from dotsync.sandbox.server import ServerHandle
from tests.support import PASSWORD, USERNAME

IMPORT_TEMPLATE = "/v2/address-books/{id}/contacts/import"
ROOT = Path(__file__).resolve().parents[2]

Hook = Callable[[SandboxRequest, Outcome, int], None]


class World:
    """The sandbox, its account, one integration (``acme``) and helpers to drive dotsync through its CLI."""

    def __init__(
        self, app: AppContext, cli_run: Any, tmp_path: Path, sandbox: Sandbox, *, serve: bool = False
    ):
        self.sandbox = sandbox
        self.sandbox.imports.keep_files = True  # uploaded files stay readable (uploaded_rows)
        self.account = sandbox.add_account(USERNAME, PASSWORD)
        self.app = app
        self.cli = cli_run
        self.tmp = tmp_path
        self.hook: Hook | None = None
        self.calls_seen = 0
        self._count_lock = threading.Lock()
        self._handle = sandbox.handle
        sandbox.handle = self._hooked  # type: ignore[method-assign]
        self.server: ServerHandle | None = None
        app.sleep = lambda _s: None
        where: tuple[str, ...] = ()
        if serve:
            self.server = sandbox.serve()
            where = ("--api-url", self.server.url)
        else:
            use_sandbox(app, sandbox)
        self.run(
            "integration", "create", "--name", "acme", "--username", USERNAME, "--password-stdin", *where,
            input=PASSWORD + "\n",
        )  # fmt: skip

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()

    # --- the sandbox, with a per-request hook (counted calls) ---------------------------------------------
    def _hooked(self, request: SandboxRequest) -> Outcome:
        with self._count_lock:
            self.calls_seen += 1
            number = self.calls_seen
        outcome = self._handle(request)
        hook = self.hook
        if hook is not None:
            hook(request, outcome, number)
        return outcome

    # --- in-process CLI --------------------------------------------------------------------------------
    def run(self, *args: str, input: str | None = None, expect: int | None = 0) -> Any:
        result = self.cli(*args, input=input)
        if expect is not None:
            assert result.exit_code == expect, (args, result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def csv_file(self, name: str, rows: Sequence[dict[str, Any]]) -> Path:
        path = self.tmp / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()))
            writer.writeheader()
            writer.writerows(rows)
        return path

    def create_list(self, name: str, rows: Sequence[dict[str, Any]], *, query: bool = False) -> Path:
        """A list of ``rows``: static, from a CSV file, or (``query``) a query list over a SQLite file that holds
        them in a table named after the list. Returns that file (a test may change the source later)."""
        if not query:
            path = self.csv_file(f"{name}.csv", rows)
            self.run("list", "create", name, "--csv", str(path))
            return path
        path = self.tmp / f"{name}.db"
        columns = list(rows[0])
        with closing(sqlite3.connect(path)) as db, db:
            db.execute(f"CREATE TABLE {name} ({', '.join(f'{c} TEXT' for c in columns)})")
            db.executemany(
                f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})",
                [tuple(row[c] for c in columns) for row in rows],
            )
        select = f"SELECT {', '.join(columns)} FROM {name}"
        self.run("list", "create", name, "--query", select, "--source", f"sqlite:///{path}")
        return path

    def import_rows(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        self.run("list", "import", name, str(self.csv_file(f"{name}-import.csv", rows)))

    def connect_list(
        self,
        rows: Sequence[dict[str, Any]],
        *options: str,
        book: str = "Customers",
        name: str = "customers",
        query: bool = False,
    ) -> Path:
        """A new book in Dotmailer, a list of ``rows`` (``create_list``), an import, then ``connect`` (with
        ``options``). Returns the list's file."""
        with self.sandbox.lock:
            self.account.create_book(book)
        path = self.create_list(name, rows, query=query)
        self.run("integration", "sync")
        self.run("connect", name, book, *options)
        return path

    # --- time and cycles (in-process) ------------------------------------------------------------------
    def tick(self, minutes: int = 4) -> None:
        self.sandbox.advance(timedelta(minutes=minutes))

    def cycle(self, *extra: str, expect: int | None = 0) -> Any:
        """One cron cycle: the import, then the export, 4 minutes later than the last."""
        self.tick()
        self.run("integration", "sync", expect=expect)
        return self.run("dotmailer", "export", "--json", *extra, expect=expect)

    def settle(self, cycles: int = 3) -> None:
        for _ in range(cycles):
            self.cycle()

    # --- dotsync as a subprocess (served) ----------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        settings = self.app.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOTSYNC_")}
        assert settings.database_url
        assert settings.secret_key
        env.update(
            DOTSYNC_HOME=str(settings.home),
            DOTSYNC_DATABASE_URL=settings.database_url,
            DOTSYNC_SECRET_KEY=settings.secret_key.get_secret_value(),
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra)
        return env

    def spawn(self, *args: str, **env: str) -> subprocess.Popen[str]:
        assert self.server is not None, "a subprocess reaches the sandbox only when it is served"
        return subprocess.Popen(
            [sys.executable, "-m", "dotsync", *args],
            cwd=ROOT,
            env=self.env(**env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # --- what the sandbox holds --------------------------------------------------------------------------
    def book_emails(self, book: str = "Customers") -> set[str]:
        with self.sandbox.lock:
            return set(self.account.member_emails(book))

    def contact_fields(self, email: str) -> dict[str, Any]:
        """The data fields Dotmailer holds for this contact (a contact it does not hold fails the test)."""
        with self.sandbox.lock:
            contact = self.account.contact_by_email(email)
        assert contact is not None, f"{email} is not in Dotmailer"
        return dict(contact.data or {})

    def uploads(self) -> list[Any]:
        with self.sandbox.lock:
            return list(self.account.imports.values())

    def uploaded_rows(self, upload: Any) -> list[dict[str, str]]:
        text = (upload.sent or b"").decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    def upload_count(self, email: str) -> int:
        """How many rows of all uploads carried this email."""
        return sum(
            1
            for u in self.uploads()
            for row in self.uploaded_rows(u)
            if row.get("Email", "").lower() == email.lower()
        )

    def upload_counts(self) -> Counter[str]:
        """How many uploads (accepted imports, whatever became of them) carried each email."""
        counts: Counter[str] = Counter()
        for upload in self.uploads():
            counts.update({row["Email"].lower() for row in self.uploaded_rows(upload)})
        return counts

    def events(self, **filters: Any) -> list[Any]:
        return self.sandbox.history.events(**filters)


def use_sandbox(app: AppContext, sandbox: Sandbox) -> None:
    """Point the app (so the in-process CLI) at the sandbox: its transport, its clock, and no real sleep."""
    app.transport = sandbox.transport()
    app.clock = sandbox.now
    app.sleep = lambda _s: None


def people(n: int, start: int = 0, domain: str = "example.com") -> list[dict[str, Any]]:
    return [
        {
            "email": f"person{i}@{domain}",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "city": f"City{i % 7}",
        }
        for i in range(start, start + n)
    ]


def emails(rows: Iterable[dict[str, Any]]) -> set[str]:
    return {r["email"].lower() for r in rows}


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    """Wait for a subprocess, read and close its pipes; returns (exit code, stdout, stderr)."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL one process we started (by its pid); harmless if it already ended."""
    try:
        os.kill(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
