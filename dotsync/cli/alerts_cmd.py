"""`dotsync alerts test`: send a test message to the alert webhook (DOTSYNC_ALERT_WEBHOOK)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from dotsync.cli.command import Call, body
from dotsync.cli.context import AppContext
from dotsync.console import stdout
from dotsync.errors import ConfigError
from dotsync.services import alerts as svc

if TYPE_CHECKING:
    # Annotations only: services.sync loads the sync engine, which `alerts test` does not need.
    from dotsync.services.sync import AfterRun


def configured_webhook(app: AppContext) -> svc.Webhook | None:
    """The webhook from the settings, checked (a malformed URL is a configuration error, exit 3); None if unset."""
    url = app.settings.alert_webhook
    if not url:
        return None
    return svc.Webhook(url=svc.validate_webhook(url), timeout=app.settings.alert_timeout)


def alerts_after_run(app: AppContext) -> AfterRun | None:
    """The sync commands' after-run hook: alerts when a webhook is configured, else nothing."""
    webhook = configured_webhook(app)
    if webhook is None:
        return None
    return svc.after_run_hook(
        app.sessions(), app.clock, webhook, max_age=timedelta(minutes=app.settings.alert_max_age)
    )


@click.group("alerts")
def alerts() -> None:
    """Alerts: a JSON POST to $DOTSYNC_ALERT_WEBHOOK when a problem appears and when it clears.

    \b
    The problems are those of `dotsync status --check`; each is announced once when it appears and once
    when it clears (event "problem" / "resolved"), checked after every sync run.
    """


@alerts.command("test")
@body(json=True)
def test(call: Call) -> None:
    """Send a test message to the alert webhook.

    Exit 1 if it was not delivered, 3 if no webhook is configured or its URL is malformed.
    """
    webhook = configured_webhook(call.app)
    if webhook is None:
        raise ConfigError(
            "no alert webhook is configured: set DOTSYNC_ALERT_WEBHOOK (https, or http on loopback)"
        )
    result = call.run(svc.send_test, webhook, call.app.clock())
    call.show(result, lambda sent: stdout.print(f"Test alert delivered to {sent.host}.", highlight=False))
