"""Both directions: what Dotmailer should hold for a member, formatted per data-field type.

The export (dotsync -> Dotmailer) builds its CSV rows and their content hash from it; the import (Dotmailer ->
dotsync) reads a two-way data field back by formatting the member's value the same way (importer/two_way.py).
Pure functions, except :func:`load_mappings` (a connection's mappings, read once per book): a member's fields
and the connection's mappings in, the CSV values and a content hash out. The hash covers exactly what is
sent, so a row is uploaded again only when what Dotmailer should hold changed. It is the MD5 of the compact
JSON ``["email",[["HEADER","value"],...]]`` (non-ASCII kept as UTF-8): stored hashes depend on that framing, and
a test holds :class:`RowFormatter` to a plain ``json.dumps`` reference.

:class:`RowFormatter` is the bulk form used by the export (a million rows at a time): the per-type formatting
and the hash's JSON framing are prepared once per connection, and the common value shapes take a fast path
that returns exactly what :func:`format_value` returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) quotes strings with
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import AddressBook, DataField, FieldMapping

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


def load_mappings(session: Session, book: AddressBook) -> list[FieldMap]:
    """The book's mappings in their stored order, each with its data field's type (``String`` if unknown)."""
    types = dict(
        session.execute(
            select(DataField.name, DataField.type).where(DataField.integration_id == book.integration_id)
        ).all()
    )
    rows = session.scalars(
        select(FieldMapping).where(FieldMapping.address_book_id == book.id).order_by(FieldMapping.id)
    ).all()
    return [
        FieldMap(m.data_field_name, parse_list_fields(m.list_fields), types.get(m.data_field_name, "String"))
        for m in rows
    ]


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


# --- bulk form --------------------------------------------------------------------------------------------

_NONZERO_DIGITS = frozenset("123456789")


def _format_string(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _format_numeric(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        # A plain non-negative integer without leading zeros is its own normal form.
        if text.isdigit() and text.isascii() and (len(text) == 1 or text[0] in _NONZERO_DIGITS):
            return text
    return format_value(value, "Numeric")


def _format_date(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
        # YYYY-MM-DDTHH:MM:SS (year 1000 or later) is its own output once it parses; YYYY-MM-DD gains midnight.
        if text.isascii() and text[:1] in _NONZERO_DIGITS:
            size = len(text)
            if (
                size == 19
                and text[4] == "-"
                and text[7] == "-"
                and text[10] == "T"
                and text[13] == ":"
                and text[16] == ":"
            ):
                try:
                    datetime.fromisoformat(text)
                except ValueError:
                    pass
                else:
                    return text
            elif size == 10 and text[4] == "-" and text[7] == "-":
                try:
                    datetime.fromisoformat(text)
                except ValueError:
                    pass
                else:
                    return text + "T00:00:00"
    return format_value(value, "Date")


def _formatter(field_type: str) -> Callable[[Any], str]:
    if field_type == "Numeric":
        return _format_numeric
    if field_type == "Date":
        return _format_date
    if field_type == "Boolean":
        return lambda value: format_value(value, "Boolean")
    return _format_string


class RowFormatter:
    """A member's data-field values (:meth:`values`) and content hash (:meth:`digest`) for one connection's
    mappings, prepared once."""

    def __init__(self, mappings: Sequence[FieldMap]) -> None:
        self.mappings = list(mappings)
        self.headers = [m.data_field for m in self.mappings]
        self._steps = [
            (m.list_fields[0] if len(m.list_fields) == 1 else m.list_fields, _formatter(m.type))
            for m in self.mappings
        ]
        # The hash's JSON is ``["email",[["HEADER","value"],...]]``: the header parts are constant.
        self._prefixes = ["[" + encode_basestring(h) + "," for h in self.headers]
        self.values = self._compile_values()
        self.digest = self._compile_digest()

    # The export calls values() and digest() once per member, a million times per run: both are generated per
    # connection as straight-line code (no loop over the mappings, no per-row list of pairs). The generated
    # code only reads names bound in its namespace (field names, formatters, header parts), never user text.
    def _compile_values(self) -> Callable[[Mapping[str, Any]], tuple[list[str], int]]:
        if any(not isinstance(source, str) for source, _f in self._steps):
            return self._values
        namespace: dict[str, Any] = {"slow": self._values}
        body = []
        for i, (source, formatter) in enumerate(self._steps):
            namespace[f"n{i}"], namespace[f"f{i}"] = source, formatter
            body.append(f"f{i}(get(n{i}))")
        code = (
            "def values(fields):\n"
            "    get = fields.get\n"
            "    try:\n"
            f"        return [{', '.join(body)}], 0\n"
            "    except ValueError:\n"
            "        return slow(fields)\n"
        )
        exec(code, namespace)  # the template above, with names bound in namespace
        return cast(Callable[[Mapping[str, Any]], tuple[list[str], int]], namespace["values"])

    def _compile_digest(self) -> Callable[[str, Sequence[str]], str]:
        namespace: dict[str, Any] = {"E": encode_basestring, "md5": hashlib.md5, "slow": self._digest}
        parts = []
        for i, prefix in enumerate(self._prefixes):
            namespace[f"p{i}"] = prefix
            parts.append(f"p{i} + E(values[{i}]) + ']'")
        pairs = " + ',' + ".join(parts) if parts else "''"
        code = (
            "def digest(email, values):\n"
            f"    if len(values) != {len(parts)}:\n"
            "        return slow(email, values)\n"
            f"    payload = '[' + E(email) + ',[' + {pairs} + ']]'\n"
            "    return md5(payload.encode('utf-8'), usedforsecurity=False).hexdigest()\n"
        )
        exec(code, namespace)  # the template above, with names bound in namespace
        return cast(Callable[[str, Sequence[str]], str], namespace["digest"])

    def _values(self, fields: Mapping[str, Any]) -> tuple[list[str], int]:
        """The values in mapping order, and how many could not be formatted (sent empty)."""
        values: list[str] = []
        bad = 0
        for source, formatter in self._steps:
            if isinstance(source, str):
                raw = fields.get(source)
            else:
                parts = [str(fields.get(f) or "").strip() for f in source]
                raw = " ".join(p for p in parts if p)
            try:
                values.append(formatter(raw))
            except ValueError:
                values.append("")
                bad += 1
        return values, bad

    def _digest(self, email: str, values: Sequence[str]) -> str:
        """The content hash of ``email`` and one value per mapped data field (see the module docstring)."""
        if len(values) != len(self._prefixes):
            raise ValueError("one value per mapped data field is needed")
        pairs = ",".join(
            [p + encode_basestring(v) + "]" for p, v in zip(self._prefixes, values, strict=True)]
        )
        payload = "[" + encode_basestring(email) + ",[" + pairs + "]]"
        return hashlib.md5(payload.encode("utf-8"), usedforsecurity=False).hexdigest()
