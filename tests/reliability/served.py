"""A served world for the reliability suites: the sandbox on loopback (in a thread, so tests can inspect and
script it), an integration pointing at it, and ``dotsync`` run as a real subprocess against the test database.

Set-up and convergence cycles run in-process (fast, through ``cli_run``); the runs under test (racing for the
lock, being killed) are real processes, as under cron.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from dotsync.cli.context import AppContext
from dotsync.config import Settings
from dotsync.sandbox import Sandbox
from dotsync.sandbox.messages import Outcome, SandboxRequest

USER = "apiuser-reliability@apiconnector.com"
PASSWORD = "reliability-pass-42"
IMPORT_TEMPLATE = "/v2/address-books/{id}/contacts/import"
ROOT = Path(__file__).resolve().parents[2]

Hook = Callable[[SandboxRequest, Outcome, int], None]


class ServedWorld:
    """The sandbox served on 127.0.0.1, one integration (``acme``) and helpers to drive dotsync."""

    def __init__(self, app: AppContext, cli_run: Any, settings: Settings, tmp_path: Path, *, seed: int = 11):
        # Real clock and real sleep: a subprocess runs on real time. Removals are applied at once here (a delay
        # would cost real minutes); asynchronous removal has its own tests on the sandbox clock.
        self.sandbox = Sandbox(seed=seed, removal_delay=0)
        self.sandbox.faults.hourly_call_limit = None
        self.sandbox.imports.keep_files = True
        self.account = self.sandbox.add_account(USER, PASSWORD)
        self.server = self.sandbox.serve()
        self.app = app
        self.cli = cli_run
        self.settings = settings
        self.tmp = tmp_path
        self.hook: Hook | None = None
        self.calls_seen = 0
        self._count_lock = threading.Lock()
        self._handle = self.sandbox.handle
        self.sandbox.handle = self._hooked  # type: ignore[method-assign]
        app.sleep = lambda _s: None
        self.run(
            "integration",
            "create",
            "--name",
            "acme",
            "--username",
            USER,
            "--password-stdin",
            "--api-url",
            self.server.url,
            input=PASSWORD + "\n",
        )

    def close(self) -> None:
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

    def import_rows(self, rows: Sequence[dict[str, Any]], name: str = "customers") -> None:
        self.run("list", "import", name, str(self.csv_file(f"{name}-import.csv", rows)))

    def connect_list(self, rows: Sequence[dict[str, Any]], book: str = "Customers") -> None:
        with self.sandbox.lock:
            self.account.create_book(book)
        self.run("list", "create", "customers", "--csv", str(self.csv_file("customers.csv", rows)))
        self.run("integration", "sync")
        self.run("connect", "customers", book)

    # --- dotsync as a subprocess -------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOTSYNC_")}
        assert self.settings.database_url
        assert self.settings.secret_key
        env.update(
            DOTSYNC_HOME=str(self.settings.home),
            DOTSYNC_DATABASE_URL=self.settings.database_url,
            DOTSYNC_SECRET_KEY=self.settings.secret_key.get_secret_value(),
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra)
        return env

    def spawn(self, *args: str, **env: str) -> subprocess.Popen[str]:
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

    def upload_counts(self) -> Counter[str]:
        """How many uploads (accepted imports, whatever became of them) carried each email."""
        counts: Counter[str] = Counter()
        with self.sandbox.lock:
            uploads = list(self.account.imports.values())
        for upload in uploads:
            text = (upload.sent or upload.data or b"").decode("utf-8-sig")
            counts.update({row["Email"].lower() for row in csv.DictReader(io.StringIO(text))})
        return counts


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


def people(n: int, start: int = 0, domain: str = "example.com") -> list[dict[str, Any]]:
    return [{"email": f"person{i}@{domain}", "first_name": f"First{i}"} for i in range(start, start + n)]


def emails(rows: Iterable[dict[str, Any]]) -> set[str]:
    return {r["email"].lower() for r in rows}
