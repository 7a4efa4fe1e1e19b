"""Export (dotsync -> Dotmailer): what Dotmailer should hold for a member, formatted per data-field type.

Pure functions: a member's fields and the connection's mappings in, the CSV values and a content hash out.
The hash covers exactly what is sent, so a row is uploaded again only when what Dotmailer should hold changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

TRUE_WORDS = {"1", "true", "yes", "y", "t", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "off", ""}


@dataclass(frozen=True)
class FieldMap:
    """One data field fed by one or more list fields (several are joined with a space, e.g. FULLNAME)."""

    data_field: str
    list_fields: tuple[str, ...]
    type: str = "String"


def parse_list_fields(spec: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in spec.split("+") if part.strip())


def format_value(value: Any, field_type: str) -> str:
    """Format one value for the CSV as Dotmailer expects for the data field's type.

    Raises ValueError for a value that cannot be that type (the caller sends it empty and counts it).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.strip() if isinstance(value, str) else text
    if field_type == "Numeric":
        if text == "":
            return ""
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"{text!r} is not a number") from exc
        return format(number.normalize(), "f") if number == number.to_integral() else str(number)
    if field_type == "Date":
        if text == "":
            return ""
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        else:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a date (use ISO 8601, e.g. 2024-05-31)") from exc
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if field_type == "Boolean":
        lowered = text.lower()
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if lowered in TRUE_WORDS:
            return "Yes"
        if lowered in FALSE_WORDS:
            return "No" if lowered else ""
        raise ValueError(f"{text!r} is not a yes/no value")
    return text


def member_values(fields: Mapping[str, Any], mappings: Sequence[FieldMap]) -> tuple[list[str], int]:
    """The data-field values for one member, in mapping order, and how many values could not be formatted."""
    values: list[str] = []
    bad = 0
    for mapping in mappings:
        if len(mapping.list_fields) == 1:
            raw = fields.get(mapping.list_fields[0])
        else:
            parts = [str(fields.get(f) or "").strip() for f in mapping.list_fields]
            raw = " ".join(p for p in parts if p)
        try:
            values.append(format_value(raw, mapping.type))
        except ValueError:
            values.append("")
            bad += 1
    return values, bad


def content_hash(email: str, values: Sequence[str], headers: Sequence[str]) -> str:
    """Hash of exactly what is sent: the email and each data field's name and value."""
    payload = json.dumps(
        [email, list(zip(headers, values, strict=True))], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.md5(payload.encode("utf-8"), usedforsecurity=False).hexdigest()
