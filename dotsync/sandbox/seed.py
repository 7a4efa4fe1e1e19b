"""Seed files: a JSON description of accounts and their books, contacts, opt-outs and campaigns.

Format (keys are case-insensitive; every key but ``username``/``password`` is optional)::

    {
      "accounts": [
        {
          "username": "apiuser-demo@apiconnector.com",
          "password": "demo",
          "name": "Demo account",
          "mainEmail": "owner@example.com",
          "apiEndpoint": null,
          "dataFields": [{"name": "COMPANY", "type": "String", "visibility": "Private",
                          "defaultValue": null}],
          "addressBooks": [
            {
              "name": "Newsletter",
              "visibility": "Private",
              "contacts": ["ann@example.com",
                           {"email": "bob@example.com", "dataFields": {"FIRSTNAME": "Bob"},
                            "optInType": "Single", "emailType": "Html"}],
              "unsubscribed": ["cy@example.com", {"email": "di@example.com", "date": "2024-01-01T00:00:00Z"}]
            }
          ],
          "contacts": ["in-no-book@example.com"],
          "suppressed": [{"email": "ed@example.com", "reason": "HardBounced", "date": "2024-01-02"}],
          "campaigns": [
            {"name": "Spring news", "subject": "Hello", "addressBooks": ["Newsletter"],
             "sentAt": "2024-02-01",
             "opens": ["ann@example.com"], "clicks": 1, "softBounces": [], "hardBounces": [],
             "unsubscribes": 0.0}
          ]
        }
      ]
    }

A top-level object without ``accounts`` is read as a single account. Things are created in this order:
data fields, books with their contacts, other contacts, book unsubscribes, suppressions, campaigns (a campaign
without ``addressBooks`` stays ``Unsent``). Activity selections take emails, a count or a share (see
:meth:`Account.send_campaign`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotsync.sandbox.api.context import lower_keys
from dotsync.sandbox.dates import parse_date
from dotsync.sandbox.errors import ApiError, SeedError
from dotsync.sandbox.state import Account

if TYPE_CHECKING:
    from dotsync.sandbox.core import Sandbox


def load_seed(sandbox: Sandbox, source: Path | str | dict[str, Any]) -> list[Account]:
    """Load a seed file (path) or an already-parsed seed dict into ``sandbox``; return the accounts made."""
    if isinstance(source, dict):
        data: Any = source
    else:
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SeedError(f"cannot read seed file {source}: {error}") from error
    data = lower_keys(data)
    if not isinstance(data, dict):
        raise SeedError("a seed must be a JSON object")
    entries = data.get("accounts", [data])
    if not isinstance(entries, list):
        raise SeedError("'accounts' must be a list")
    made = []
    for index, entry in enumerate(entries):
        where = f"accounts[{index}]"
        try:
            made.append(_load_account(sandbox, entry))
        except (ApiError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise SeedError(f"{where}: {error}") from error
    return made


def _date(value: Any) -> Any:
    return parse_date(str(value)) if value else None


def _load_account(sandbox: Sandbox, entry: dict[str, Any]) -> Account:
    if not entry.get("username") or not entry.get("password"):
        raise SeedError("every account needs a username and a password")
    account = sandbox.add_account(
        str(entry["username"]),
        str(entry["password"]),
        name=entry.get("name") or "Sandbox account",
        main_email=entry.get("mainemail"),
        api_endpoint=entry.get("apiendpoint"),
    )
    for field in entry.get("datafields", []):
        account.create_data_field(
            field["name"],
            field.get("type", "String"),
            field.get("visibility", "Private"),
            field.get("defaultvalue"),
        )
    for spec in entry.get("addressbooks", []):
        book = account.create_book(spec["name"], spec.get("visibility", "Private"))
        account.add_contacts(book, spec.get("contacts", []))
    for item in entry.get("contacts", []):
        item = {"email": item} if isinstance(item, str) else item
        contact = account.contact_by_email(item["email"]) or account.new_contact(item["email"])
        account.apply_values(contact, account.field_values(item.get("datafields") or {}))
    for spec in entry.get("addressbooks", []):
        for item in spec.get("unsubscribed", []):
            item = {"email": item} if isinstance(item, str) else item
            account.unsubscribe(spec["name"], item["email"], _date(item.get("date")))
    for item in entry.get("suppressed", []):
        item = {"email": item} if isinstance(item, str) else item
        account.suppress(item["email"], item.get("reason", "Suppressed"), _date(item.get("date")))
    for spec in entry.get("campaigns", []):
        campaign = account.create_campaign(spec["name"], spec.get("subject"))
        if spec.get("addressbooks"):
            account.send_campaign(
                campaign,
                spec["addressbooks"],
                opens=spec.get("opens", ()),
                clicks=spec.get("clicks", ()),
                soft_bounces=spec.get("softbounces", ()),
                hard_bounces=spec.get("hardbounces", ()),
                unsubscribes=spec.get("unsubscribes", ()),
                when=_date(spec.get("sentat")),
            )
    return account
