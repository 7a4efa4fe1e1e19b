"""The one rule for URLs dotsync sends credentials or data to: https anywhere, plain http only on loopback."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (IPv6 with or without brackets)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def transport_problem(parts: SplitResult) -> str | None:
    """What is wrong with a URL's scheme and host for dotsync to send to it, or None when it is acceptable."""
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return "expected an https:// URL"
    if scheme == "http" and not is_loopback(parts.hostname):
        return "plain http is only allowed to a loopback address (127.0.0.1, ::1, localhost); use https"
    return None
