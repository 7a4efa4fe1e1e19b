"""The call log: one record per request the sandbox received, for tests and the benchmark to count calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One request: its path template (e.g. ``/v2/campaigns/{id}/summary``), the status answered (None when
    the connection was dropped without an answer), the API username (None if not authenticated) and the
    injected fault, if any (``"5xx"``, ``"429"``, ``"drop"``, ``"drop_after_apply"``, ``"slow"``)."""

    method: str
    template: str
    status: int | None
    account: str | None
    at: datetime
    fault: str | None = None

    @property
    def endpoint(self) -> str:
        """``"GET /v2/..."``: method and template, the key used by :meth:`CallLog.counts`."""
        return f"{self.method} {self.template}"


class CallLog:
    """Records every call; ``count``/``counts`` summarise, ``reset`` starts over."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def append(self, record: CallRecord) -> None:
        """Add one record."""
        self.records.append(record)

    def __iter__(self) -> Iterator[CallRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def count(
        self,
        template: str | None = None,
        *,
        method: str | None = None,
        account: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many calls match every filter given."""
        return sum(
            1
            for r in self.records
            if (template is None or r.template == template)
            and (method is None or r.method == method.upper())
            and (account is None or r.account == account)
            and (status is None or r.status == status)
        )

    def counts(self) -> Counter[str]:
        """Calls per endpoint, keyed ``"GET /v2/address-books/{id}/contacts"``."""
        return Counter(r.endpoint for r in self.records)

    def reset(self) -> None:
        """Forget every record."""
        self.records.clear()
