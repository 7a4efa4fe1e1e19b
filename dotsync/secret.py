"""Encryption of stored secrets (Dotmailer passwords, list source URLs) with Fernet.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) gives authenticated encryption with a key that can
be handed around as one string, which is what an operator can put in ``DOTSYNC_SECRET_KEY``. With no key
configured, one is generated on first need into a key file created with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from dotsync.errors import ConfigError


class SecretBox:
    """Encrypts and decrypts short secrets with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "the secret key is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise ConfigError(
                "cannot decrypt a stored secret: the secret key differs from the one it was stored with"
            ) from exc


def load_or_create_key(key_file: Path, configured: str | None = None) -> bytes:
    """Return the configured key, else the key file's key, creating the file (mode 0600) if missing."""
    if configured:
        return configured.strip().encode("ascii")
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes racing to create the key must not end with different keys.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key
