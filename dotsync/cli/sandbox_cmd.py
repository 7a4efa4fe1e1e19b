"""``dotsync sandbox serve``: run the fake Dotmailer API on loopback (click code only; the work is in
:func:`dotsync.sandbox.run`)."""

from __future__ import annotations

from pathlib import Path

import click

from dotsync.sandbox import SeedError, run
from dotsync.sandbox.ratelimit import RateLimit
from dotsync.sandbox.standalone import SERVED_REMOVAL_DELAY


@click.group("sandbox")
def sandbox() -> None:
    """A fake Dotmailer API for trying dotsync offline."""


@sandbox.command("serve")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port (0: any free port)."
)
@click.option("--username", help="API username the sandbox accepts (default: a sandbox user).")
@click.option("--password", help="Password for --username (default: 'sandbox').")
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON seed file with accounts, books, contacts, opt-outs and campaigns.",
)
@click.option(
    "--rate-limit",
    "rate_limit",
    metavar="CALLS/SECONDS",
    help="Tiered rate limit per account, e.g. 35/60: over it, 429 with x-ratelimit-* headers (default: off).",
)
@click.option(
    "--removal-delay",
    type=click.FloatRange(min=0),
    default=SERVED_REMOVAL_DELAY,
    show_default=True,
    metavar="SECONDS",
    help="Seconds a bulk removal (answered 202) takes before the contacts leave the book.",
)
@click.option(
    "--faults-ttl",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Seconds an import's faults report stays available (default: a week, as the real API).",
)
def serve_command(
    port: int,
    username: str | None,
    password: str | None,
    seed: Path | None,
    rate_limit: str | None,
    removal_delay: float,
    faults_ttl: float | None,
) -> None:
    """Serve the sandbox on 127.0.0.1 until Ctrl-C; prints its URL and the credentials it accepts."""
    limit = None
    if rate_limit is not None:
        try:
            limit = RateLimit.parse(rate_limit)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--rate-limit") from error
    try:
        code = run(
            port=port,
            username=username,
            password=password,
            seed=seed,
            echo=click.echo,
            rate_limit=limit,
            removal_delay=removal_delay,
            faults_ttl=faults_ttl,
        )
    except SeedError as error:
        raise click.BadParameter(str(error), param_hint="--seed") from error
    except OSError as error:
        raise click.ClickException(f"cannot serve on port {port}: {error}") from error
    click.get_current_context().exit(code)
