"""Bulk contact imports (Dotmailer's ``contacts/import``; dotsync's *export*): validation at upload, the
status lifecycle, applying the CSV to the account, the report and the faults CSV.

Lifecycle: an accepted upload is ``NotFinished``; it answers ``NotFinished`` to ``polls_before_finish`` status
polls and is then applied and moves to its outcome (``Finished``, or ``RejectedByWatchdog`` /
``InvalidFileFormat`` / ``Failed`` with nothing applied). Imports of an account finish in upload order: when
one finishes, every earlier unfinished import finishes first. ``Sandbox.finish_imports()`` finishes all.

Applying is one streaming pass over the CSV (no list of rows is built). Per row: an invalid email is a fault
``Invalid Email``; a repeat of an email already seen in the file is ``Duplicate``; an account-suppressed
contact is a fault named after its suppression reason; a contact unsubscribed from the book is
``Unsubscribed``. None of those is added or updated. Every other row creates or updates the contact (values
typed by data-field type; a value that does not fit its type is ignored) and puts it in the book.
"""

from __future__ import annotations

import csv
import gc
import io
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dotsync.sandbox.errors import ApiError, bad_request, not_found
from dotsync.sandbox.state import Account, AddressBook, ContactImport
from dotsync.sandbox.values import EMAIL_TYPES, OPT_IN_TYPES, BadValue, canonical, coerce, is_valid_email

REPORT_FIELDS = (
    "newContacts",
    "updatedContacts",
    "globallySuppressed",
    "invalidEntries",
    "duplicateEmails",
    "blocked",
    "unsubscribed",
    "hardBounced",
    "softBounced",
    "ispComplaints",
    "mailBlocked",
    "domainSuppressed",
    "pendingDoubleOptin",
    "failures",
    "suppressedContacts",  # the 15th counter of the current API (reference §15)
)
# account suppression reason -> (report counter, faults CSV reason)
_SUPPRESSION_FAULTS = {
    "Unsubscribed": ("unsubscribed", "Unsubscribed"),
    "HardBounced": ("hardBounced", "Hard bounced"),
    "IspComplained": ("ispComplaints", "Complained to ISP"),
    "MailBlocked": ("mailBlocked", "Mail blocked"),
    "DomainSuppression": ("domainSuppressed", "Suppressed by Domain"),
}
_GLOBAL_FAULT = ("globallySuppressed", "Globally Suppressed")
_SPECIAL_COLUMNS = ("email", "emailtype", "optintype")


@dataclass
class ImportConfig:
    """Import knobs (change at runtime). ``watchdog_next`` rejects that many next uploads for sure."""

    polls_before_finish: int = 1
    max_active: int = 25  # more unfinished imports than this -> ERROR_IMPORT_TOOMANYACTIVEIMPORTS
    max_file_bytes: int = 10 * 1024 * 1024
    watchdog_rate: float = 0.0
    watchdog_next: int = 0
    unknown_columns: str = "reject"  # "reject": 400 ERROR_DATAFIELD_NOTFOUND at upload; "ignore": skip column
    # Seconds a finished import's faults report stays available (the API says about a week); None: for ever.
    faults_ttl: float | None = 7 * 24 * 3600.0
    keep_files: bool = False  # keep uploaded files after they are applied (tests read what was sent)
    seed: int = 0
    rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


def _csv_reader(data: bytes) -> Iterator[list[str]]:
    return csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""))


def start_import(
    account: Account, book: AddressBook | None, filename: str, data: bytes, config: ImportConfig
) -> ContactImport:
    """Validate an upload and register it as ``NotFinished``; raise the API's 400 when it is refused."""
    if book is not None and not book.writable:
        raise bad_request("Address book cannot be written to via the API.", "ERROR_ADDRESSBOOK_NOTWRITABLE")
    if len(data) > config.max_file_bytes:
        raise bad_request(
            f"The file is larger than the maximum of {config.max_file_bytes} bytes.", "ERROR_FILE_TOO_LARGE"
        )
    active = sum(1 for imp in account.imports.values() if imp.status == "NotFinished")
    if active >= config.max_active:
        raise bad_request("Too many imports are in progress.", "ERROR_IMPORT_TOOMANYACTIVEIMPORTS")
    header: list[str] = []
    outcome = "Finished"
    try:  # one cheap pass now, so applying later can never stop half-way on a broken file
        reader = _csv_reader(data)
        header = next(reader, [])
        for _row in reader:
            pass
    except (UnicodeDecodeError, csv.Error):
        outcome = "InvalidFileFormat"
    if outcome == "Finished":
        _check_header(account, header, config)
        if config.watchdog_next > 0:
            config.watchdog_next -= 1
            outcome = "RejectedByWatchdog"
        elif config.watchdog_rate > 0 and config.rng.random() < config.watchdog_rate:
            outcome = "RejectedByWatchdog"
    import_id = str(uuid.UUID(int=config.rng.getrandbits(128), version=4))
    imp = ContactImport(
        import_id,
        book.id if book else None,
        filename,
        account.now(),
        outcome,
        data,
        header=header,
        sent=data if config.keep_files else None,
    )
    account.imports[import_id] = imp
    account.touch()
    return imp


def _check_header(account: Account, header: list[str], config: ImportConfig) -> None:
    names = [h.strip().lower() for h in header]
    if names.count("email") != 1:
        raise bad_request("The file must have exactly one column headed Email.", "ERROR_NO_EMAIL_COLUMN")
    if config.unknown_columns == "reject":
        for raw, name in zip(header, names, strict=True):
            if name not in _SPECIAL_COLUMNS and name.upper() not in account.data_fields:
                raise bad_request(f"Data field '{raw.strip()}' does not exist.", "ERROR_DATAFIELD_NOTFOUND")


def find_import(account: Account, import_id: str) -> ContactImport:
    """An import of this account; 404 ERROR_IMPORT_NOT_FOUND."""
    imp = account.imports.get(import_id.lower())
    if imp is None:
        raise not_found("ERROR_IMPORT_NOT_FOUND")
    return imp


def poll(account: Account, imp: ContactImport, config: ImportConfig) -> ContactImport:
    """One status poll: count it, and finish the import (and earlier ones) once it has been polled enough."""
    if imp.status == "NotFinished":
        imp.polls += 1
        if imp.polls > config.polls_before_finish:
            finish_through(account, imp)
    return imp


def finish_through(account: Account, last: ContactImport | None = None) -> None:
    """Finish every unfinished import of the account up to ``last`` (all when None), in upload order."""
    for imp in list(account.imports.values()):
        if imp.status == "NotFinished":
            _finish(account, imp)
        if imp is last:
            break


def _finish(account: Account, imp: ContactImport) -> None:
    outcome = imp.outcome
    if outcome == "Finished":
        book = account.books.get(imp.book_id) if imp.book_id is not None else None
        if imp.book_id is not None and book is None:
            outcome = "Failed"  # the book was deleted while the import waited
        else:
            # a bulk load allocates a lot of long-lived objects: pausing the cyclic GC saves ~40% of the time
            paused = gc.isenabled()
            gc.disable()
            try:
                _apply(account, imp, book)
            finally:
                if paused:
                    gc.enable()
    imp.status, imp.finished = outcome, account.now()
    if imp.sent is None:
        imp.data = None  # a finished import's file is not needed any more; keep memory flat
    account.touch()


def _apply(account: Account, imp: ContactImport, book: AddressBook | None) -> None:
    assert imp.data is not None
    reader = _csv_reader(imp.data)
    header = next(reader)
    names = [h.strip().lower() for h in header]
    email_at = names.index("email")
    specials = [
        (names.index(column), choices, attr)
        for column, choices, attr in (
            ("emailtype", EMAIL_TYPES, "email_type"),
            ("optintype", OPT_IN_TYPES, "opt_in_type"),
        )
        if column in names
    ]
    fields = [
        (i, account.data_fields[n.upper()].name, account.data_fields[n.upper()].type)
        for i, n in enumerate(names)
        if n not in _SPECIAL_COLUMNS and n.upper() in account.data_fields
    ]
    report = dict.fromkeys(REPORT_FIELDS, 0)
    seen: set[str] = set()
    source = f"import:{imp.id}"
    now = account.now()
    book_id = book.id if book is not None else None
    record = account.env.history.record
    username = account.username

    def fault(counter: str, reason: str, row: list[str], email: str) -> None:
        report[counter] += 1
        imp.faults.append((reason, row))
        record(now, username, "rejected", book_id, email, source, reason)

    for row in reader:
        email = row[email_at].strip().lower() if len(row) > email_at else ""
        if not email and not any(cell.strip() for cell in row):
            continue  # a blank line
        if not is_valid_email(email):
            fault("invalidEntries", "Invalid Email", row, email)
            continue
        if email in seen:
            fault("duplicateEmails", "Duplicate", row, email)
            continue
        seen.add(email)
        typed: dict[str, Any] = {}
        for i, name, kind in fields:
            if i < len(row):
                if kind == "String":  # the common case, without a call
                    typed[name] = row[i] or None
                    continue
                try:
                    typed[name] = coerce(kind, row[i])
                except BadValue:
                    pass  # a value that does not fit the field's type is ignored
        contact = account.contact_by_email(email)
        if contact is not None:
            suppression = account.suppressions.get(contact.id)
            if suppression is not None:
                counter, reason = _SUPPRESSION_FAULTS.get(suppression.reason, _GLOBAL_FAULT)
                fault(counter, reason, row, email)
                continue
            if book is not None and contact.id in book.unsubscribed:
                fault("unsubscribed", "Unsubscribed", row, email)
                continue
            report["updatedContacts"] += 1
            changed = account.apply_values(contact, typed, now) if typed else False
        else:
            contact = account.new_contact(email, now)
            contact.data = {k: v for k, v in typed.items() if v is not None} or None
            report["newContacts"] += 1
            changed = True
        for at, choices, attr in specials:
            value = canonical(row[at], choices) if at < len(row) else None
            if value is not None and getattr(contact, attr) != value:
                setattr(contact, attr, value)
                changed = True
        if book is not None and contact.id not in book.members:
            book.members[contact.id] = None
            record(now, username, "add", book_id, email, source, "")
            changed = True
        if changed:
            contact.modified = now
    account.touch()
    imp.report = report


def report_json(imp: ContactImport) -> dict[str, int]:
    """ApiContactImportReport; 404 ERROR_IMPORT_REPORT_NOT_FOUND unless the import finished."""
    if imp.status != "Finished" or imp.report is None:
        raise ApiError(
            404, "Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND"
        )
    return imp.report


def faults_csv(imp: ContactImport, now: datetime | None = None, ttl: float | None = None) -> bytes:
    """The faults report: UTF-8 with a BOM; ``Reason`` then the uploaded columns, one row per refused row.

    After ``ttl`` seconds from the import's end the report is gone: 404 ``ERROR_IMPORT_REPORT_NOT_FOUND``, the
    message the vendor's code knows for a missing report (what the real API answers then is undocumented).
    """
    report_json(imp)
    expired = (
        ttl is not None
        and now is not None
        and imp.finished is not None
        and (now - imp.finished).total_seconds() > ttl
    )
    if expired:
        raise ApiError(
            404, "Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND"
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Reason", *imp.header])
    for reason, row in imp.faults:
        writer.writerow([reason, *row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
