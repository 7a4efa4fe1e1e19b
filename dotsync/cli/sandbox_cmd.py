"""``dotsync sandbox serve``: run the fake Dotmailer API on loopback (click code only; the work is in
:func:`dotsync.sandbox.run`)."""

from __future__ import annotations

from pathlib import Path

import click

from dotsync.sandbox import SeedError, run


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
def serve_command(port: int, username: str | None, password: str | None, seed: Path | None) -> None:
    """Serve the sandbox on 127.0.0.1 until Ctrl-C; prints its URL and the credentials it accepts."""
    try:
        code = run(port=port, username=username, password=password, seed=seed, echo=click.echo)
    except SeedError as error:
        raise click.BadParameter(str(error), param_hint="--seed") from error
    except OSError as error:
        raise click.ClickException(f"cannot serve on port {port}: {error}") from error
    click.get_current_context().exit(code)
