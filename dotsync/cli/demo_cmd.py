"""`dotsync demo`: the whole product in one command, on a throwaway SQLite database and the built-in sandbox.

The demo drives the real commands (each shown as ``$ dotsync ...`` with its output) against an in-process
sandbox whose clock moves 4 minutes per cron cycle, so it runs in seconds and touches nothing of the user's.
"""

from __future__ import annotations

import csv
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from cryptography.fernet import Fernet

from dotsync.cli.command import Call, body
from dotsync.cli.context import AppContext
from dotsync.config import Settings
from dotsync.console import stdout
from dotsync.errors import SyncFailedError
from dotsync.services.integrations import create_integration

DEMO_USER = "apiuser-demo@apiconnector.com"
DEMO_PASSWORD = "demo-password-1"
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"]


def _write_members(path: Path, count: int, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "first_name", "last_name", "city"])
        for i in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            writer.writerow(
                [f"{first}.{last}.{i}@example.com", first, last, rng.choice(["London", "Leeds", "York"])]
            )
        writer.writerow(["not-an-email", "Bad", "Row", "Nowhere"])


@click.command("demo")
@click.option(
    "--members", default=300, show_default=True, type=click.IntRange(10, 100_000), help="List size."
)
@click.option(
    "--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep the demo database in DIR."
)
@body()
def demo(call: Call, members: int, keep: Path | None) -> None:
    """Run the whole flow against the built-in sandbox, on a throwaway SQLite database.

    Creates an integration and a list, connects it to an address book, runs cron cycles until the book
    holds the list, changes things on both sides, sends a campaign and imports its statistics.
    Your own database and settings are not touched.
    """
    from dotsync.cli import run
    from dotsync.sandbox import Sandbox

    started = time.monotonic()
    home = keep or Path(tempfile.mkdtemp(prefix="dotsync-demo-"))
    home.mkdir(parents=True, exist_ok=True)
    clock_start = datetime.now(UTC).replace(microsecond=0)
    sandbox = Sandbox(seed=42, clock=lambda: clock_start, sleep=lambda _s: None)
    account = sandbox.add_account(DEMO_USER, DEMO_PASSWORD, name="Demo account")
    account.create_book("Newsletter")
    account.create_book("Spring promotion")
    account.add_contacts("Newsletter", ["already.there@partner.example", "another.one@partner.example"])
    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'demo.db'}", secret_key=Fernet.generate_key().decode()
    )
    demo_app = AppContext(
        settings=settings, verbosity=call.app.verbosity, transport=sandbox.transport(), clock=sandbox.now
    )
    demo_app.sleep = lambda _s: None

    def step(title: str) -> None:
        stdout.print(f"\n[bold cyan]== {title}[/]")

    def dotsync(*args: str, ok: tuple[int, ...] = (0,)) -> None:
        stdout.print(f"[dim]$ dotsync {' '.join(args)}[/]")
        code = run(list(args), obj=demo_app)
        if code not in ok:
            raise SyncFailedError(f"demo step `dotsync {' '.join(args)}` exited {code}")

    def cycle() -> None:
        sandbox.advance(timedelta(minutes=4))
        dotsync("sync")

    try:
        step("1. An integration (the password is stored encrypted; the sandbox stands in for Dotmailer)")
        with demo_app.sessions().begin() as session:
            create_integration(
                session,
                demo_app.box(),
                name="demo",
                username=DEMO_USER,
                password=DEMO_PASSWORD,
                api_url="https://r1-api.dotdigital.com",
                owner="Marketing",
            )
        dotsync("integration", "check", "demo")

        step(f"2. A marketing list of {members} members from CSV (one bad row is reported and skipped)")
        csv_path = home / "members.csv"
        _write_members(csv_path, members, random.Random(7))
        dotsync("list", "create", "newsletter", "--csv", str(csv_path))

        step("3. Import books from Dotmailer, then connect the list to a book")
        dotsync("integration", "sync")
        dotsync("books", "list", "--available")
        dotsync("connect", "newsletter", "Newsletter")

        step("4. Cron cycles (import + export, 4 minutes apart) until the book holds the list")
        for _ in range(3):
            cycle()
        dotsync("connection", "show", "newsletter")

        step("5. Changes on both sides: an opt-out in Dotmailer, a removal and a new member in dotsync")
        first = sorted(account.member_emails("Newsletter"))
        account.unsubscribe("Newsletter", first[0])
        dotsync("list", "remove", "newsletter", first[1])
        dotsync("list", "add", "newsletter", "new.member@example.com", "--field", "first_name=New")
        for _ in range(2):
            cycle()
        dotsync("list", "members", "newsletter", "--state", "unsubscribed")

        step("6. A campaign is sent in Dotmailer; its statistics come back per member")
        sandbox.advance(timedelta(hours=1))
        campaign = account.send_campaign(
            "Spring newsletter",
            ["Newsletter"],
            opens=0.4,
            clicks=0.15,
            soft_bounces=2,
            hard_bounces=1,
            unsubscribes=2,
        )
        sandbox.advance(timedelta(minutes=30))
        dotsync("integration", "sync")
        dotsync("campaigns", "list")
        dotsync("campaigns", "show", str(campaign.id))

        step("7. Health and history")
        dotsync("status")
        dotsync("runs", "--limit", "5")
    finally:
        demo_app.close()
        if keep is None:
            shutil.rmtree(home, ignore_errors=True)
    elapsed = time.monotonic() - started
    where = f"kept in {home}" if keep else "thrown away"
    stdout.print(
        f"\n[bold green]Demo finished in {elapsed:.1f} s[/] ({len(sandbox.calls)} sandbox API calls; database {where})."
    )
