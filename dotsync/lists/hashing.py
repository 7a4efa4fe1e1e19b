"""Content hashes of member fields, so the export can tell which members changed since they were last sent.

The hash is taken over a canonical JSON text of the fields (keys sorted, no whitespace, non-ASCII kept), so the
same field values always give the same 32 hex characters whatever the column order of the source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from hashlib import blake2b
from typing import Any

HASH_LENGTH = 32  # hex characters; ListMember.fields_hash is String(32)

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The canonical JSON text of a fields mapping (values must already be JSON-safe)."""
    return _encode(fields)


def hash_canonical(canonical: str) -> str:
    """The hash of an already canonical JSON text (lets bulk code serialise each member's fields only once)."""
    return blake2b(canonical.encode("utf-8"), digest_size=HASH_LENGTH // 2).hexdigest()


def fields_hash(fields: Mapping[str, Any]) -> str:
    """32 hex characters identifying the content of ``fields`` (blake2b-128 of its canonical JSON)."""
    return hash_canonical(_encode(fields))
