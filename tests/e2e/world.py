"""A scripted world for end-to-end tests: the sandbox, an integration, lists, and cron cycles via the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dotsync.cli.context import AppContext
from dotsync.sandbox import Sandbox

USER = "apiuser-e2e@apiconnector.com"
PASSWORD = "e2e-password-123"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, app: AppContext, cli_run: Any, tmp_path: Path, *, seed: int = 7) -> None:
        self.sandbox = Sandbox(seed=seed, clock=lambda: START, sleep=lambda _s: None)
        self.sandbox.set_time(START)
        self.sandbox.imports.keep_files = True
        self.account = self.sandbox.add_account(USER, PASSWORD)
        self.app = app
        self.cli = cli_run
        self.tmp = tmp_path
        app.transport = self.sandbox.transport()
        app.clock = self.sandbox.now
        app.sleep = lambda _s: None
        self.run(
            "integration",
            "create",
            "--name",
            "acme",
            "--username",
            USER,
            "--password-stdin",
            input=PASSWORD + "\n",
        )

    # --- CLI -------------------------------------------------------------------------------------------
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

    def create_list(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        self.run("list", "create", name, "--csv", str(self.csv_file(f"{name}.csv", rows)))

    def import_rows(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        self.run("list", "import", name, str(self.csv_file(f"{name}-import.csv", rows)))

    # --- time and cycles -------------------------------------------------------------------------------
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

    # --- what the sandbox holds --------------------------------------------------------------------------
    def book_emails(self, book: str) -> set[str]:
        return set(self.account.member_emails(book))

    def uploads(self) -> list[Any]:
        return list(self.account.imports.values())

    def uploaded_rows(self, upload: Any) -> list[dict[str, str]]:
        text = (upload.sent or b"").decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    def upload_count(self, email: str) -> int:
        return sum(
            1
            for u in self.uploads()
            for row in self.uploaded_rows(u)
            if row.get("Email", "").lower() == email.lower()
        )

    def events(self, **filters: Any) -> list[Any]:
        return self.sandbox.history.events(**filters)


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
