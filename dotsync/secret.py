"""Encryption of stored secrets (Dotmailer passwords, list source URLs) with Fernet.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) gives authenticated encryption with a key that can
be handed around as one string, which is what an operator can put in ``DOTSYNC_SECRET_KEY``. With no key
configured, one is generated on first need into a key file created with mode 0600.
"""

from __future__ import annotations

import os
import tempfile
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
    """Return the configured key, else the key file's key, creating the file (mode 0600) if missing.

    The file is written atomically: the key goes to a temporary file in the same directory (mode 0600), is
    fsynced, then hard-linked to its name, which fails if a key is already there. So another process never
    reads a half-written key, and two processes racing both end with the key of whichever linked first.
    """
    if configured:
        return configured.strip().encode("ascii")
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd, temp_name = tempfile.mkstemp(prefix=f".{key_file.name}.", suffix=".tmp", dir=key_file.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp_name, key_file)  # never replaces an existing key, unlike rename
        except FileExistsError:
            return key_file.read_bytes().strip()
        _fsync_directory(key_file.parent)
        return key
    finally:
        os.unlink(temp_name)


def _fsync_directory(directory: Path) -> None:
    """Make the new directory entry durable (best effort: some file systems refuse to open a directory)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
