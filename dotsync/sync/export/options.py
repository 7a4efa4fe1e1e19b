"""Options of one export run (dotsync -> Dotmailer)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportOptions:
    dry_run: bool = False
    # Lists whose held mass change may go through, once.
    confirm_mass_change: set[str] = field(default_factory=set)
    # Restrict the export to these local address-book ids (``dotsync sync LIST``).
    book_ids: set[int] | None = None
