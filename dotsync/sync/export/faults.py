"""Export (dotsync -> Dotmailer): what a row in an import's faults report means for the book and the member.

Reason strings differ between Dotmailer's docs, live runs and its own code (API reference §7.6), so they are
matched case-insensitively by keyword; an unknown reason is a generic failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from dotsync.db.models import MemberState


@dataclass(frozen=True)
class FaultOutcome:
    book_status: str  # status recorded for the contact in that book
    member_state: MemberState  # state the list member is put in (never exported again until changed locally)
    reason: str


_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("globally", "Suppressed"),
    ("unsubscrib", "Unsubscribed"),
    ("hard", "HardBounced"),
    ("soft", "SoftBounced"),
    ("isp", "IspComplained"),
    ("complain", "IspComplained"),
    ("mail block", "MailBlocked"),
    ("mailblock", "MailBlocked"),
    ("domain", "DomainSuppression"),
    ("pending", "PendingOptIn"),
    ("block", "Suppressed"),
    ("suppress", "Suppressed"),
)


def classify_fault(reason: str | None) -> FaultOutcome:
    text = (reason or "").strip()
    lowered = text.lower()
    label = text or "no reason given"
    if "invalid" in lowered:
        return FaultOutcome(
            "Invalid", MemberState.REMOVED, f"Dotmailer rejected the email as invalid ({label})"
        )
    for keyword, status in _KEYWORDS:
        if keyword in lowered:
            return FaultOutcome(status, MemberState.UNSUBSCRIBED, f"Dotmailer refused the contact: {label}")
    return FaultOutcome("Failed", MemberState.REMOVED, f"Dotmailer could not import this row: {label}")


def is_duplicate_fault(reason: str | None) -> bool:
    """A ``Duplicate`` row: the email was in the file twice and one of its rows was imported."""
    return (reason or "").strip().lower().startswith("duplicate")
