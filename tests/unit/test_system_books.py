"""Dotmailer's system books are recognised by name, whatever the case and surrounding spaces; no other book is."""

from __future__ import annotations

import pytest

from dotsync.db.models import AddressBook


@pytest.mark.parametrize(
    ("name", "system"),
    [
        ("All Contacts", True),
        ("all contacts", True),
        (" Test ", True),
        ("TEST", True),
        ("Testing", False),
        ("All Contacts 2", False),
        ("Newsletter", False),
    ],
)
def test_is_system(name: str, system: bool) -> None:
    assert AddressBook(name=name).is_system is system
