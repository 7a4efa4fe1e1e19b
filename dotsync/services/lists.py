"""Marketing list management: create (static or query-backed), import, add/remove/unsubscribe, show, delete.

Functions take a Session and plain values, and return plain results or typed views; the CLI renders them.
Bulk member work goes through :mod:`dotsync.lists.members` on ``session.connection()``, inside the caller's
one transaction, so a failed create or import leaves nothing behind. A query-backed list's source URL is
encrypted with the :class:`~dotsync.secret.SecretBox` and only ever shown masked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dotsync.db.lookups import get_list
from dotsync.db.models import ListKind, ListMember, MarketingList, MemberState
from dotsync.errors import BadInputError, ConfigError, NotFoundError
from dotsync.lists.changes import next_change
from dotsync.lists.columns import field_columns, find_email_column
from dotsync.lists.csvfile import DEFAULT_ENCODING, CsvFile
from dotsync.lists.csvload import load_csv_new_list
from dotsync.lists.email import normalise_email
from dotsync.lists.hashing import fields_hash
from dotsync.lists.members import (
    ImportResult,
    LoadResult,
    RefreshResult,
    load_csv,
)
from dotsync.lists.source import SourceError, mask_url, normalise_source_url, refresh_query_list
from dotsync.progress import Progress
from dotsync.secret import SecretBox

STATE_ALL = "all"
STATE_FILTERS = (*(state.value for state in MemberState), STATE_ALL)  # plain str: click lists an Enum by name
REASON_REMOVED_BY_USER = "removed by user"
REASON_UNSUBSCRIBED_BY_USER = "unsubscribed by user"
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class CreateResult:
    """A new list, and what loading its members did (None for an empty static list)."""

    name: str
    kind: str
    email_column: str
    load: LoadResult | None


class MemberOutcome(StrEnum):
    """What ``list add``, ``list remove`` or ``list unsubscribe`` did to the member."""

    ADDED = "added"
    UPDATED = "updated"  # its fields
    UNCHANGED = "unchanged"
    RESUBSCRIBED = "resubscribed"
    KEPT_UNSUBSCRIBED = "kept_unsubscribed"  # an opt-out is respected
    REMOVED = "removed"
    UNSUBSCRIBED = "unsubscribed"
    ALREADY = "already"  # already in the state asked for


@dataclass(frozen=True)
class MemberChange:
    """What a single-member command did, and the member's state after it."""

    email: str
    outcome: MemberOutcome
    state: MemberState


def _check_name(session: Session, name: str) -> str:
    name = name.strip()
    if not name:
        raise BadInputError("the list name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise BadInputError(f"the list name is longer than {MAX_NAME_LENGTH} characters")
    if session.scalar(select(MarketingList.id).where(MarketingList.name == name)) is not None:
        raise BadInputError(f"a list named {name!r} already exists")
    return name


def create_list(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    now: datetime,
    csv_path: Path | None = None,
    query: str | None = None,
    source_url: str | None = None,
    email_column: str | None = None,
    encoding: str | None = None,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> CreateResult:
    """Create a list: static from a CSV file, query-backed (``query`` over ``source_url``), or empty static.

    A query list's query is run once, read-only, to check it and load its members; a failing query, like a
    CSV without an email column, is a BadInputError and nothing is written.
    """
    name = _check_name(session, name)
    if csv_path is not None and (query is not None or source_url is not None):
        raise BadInputError("give either --csv, or --query with --source, not both")
    if (query is None) != (source_url is None):
        raise BadInputError("a query-backed list needs both --query and --source")
    if encoding is not None and csv_path is None:
        raise BadInputError("--encoding applies to --csv files only")
    if rejects_path is not None and csv_path is None and query is None:
        raise BadInputError("--rejects needs --csv or --query")

    if query is not None and source_url is not None:
        return _create_query_list(
            session,
            box,
            name=name,
            query=query,
            source_url=source_url,
            email_column=email_column,
            now=now,
            rejects_path=rejects_path,
            progress=progress,
        )
    if csv_path is None:
        column = (email_column or "").strip() or "email"
        session.add(MarketingList(name=name, kind=ListKind.STATIC, email_column=column, field_columns=[]))
        session.flush()
        return CreateResult(name, ListKind.STATIC, column, None)

    with CsvFile(csv_path, encoding=encoding or DEFAULT_ENCODING) as csv_file:
        column = find_email_column(csv_file.header, email_column, source=str(csv_path))
        marketing_list = MarketingList(
            name=name,
            kind=ListKind.STATIC,
            email_column=column,
            field_columns=field_columns(csv_file.header, column),
        )
        session.add(marketing_list)
        session.flush()
        result = load_csv_new_list(
            session.connection(),
            marketing_list.id,
            csv_file,
            email_column=column,
            now=now,
            rejects_path=rejects_path,
            progress=progress,
        )
    return CreateResult(name, ListKind.STATIC, column, result)


def _create_query_list(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    query: str,
    source_url: str,
    email_column: str | None,
    now: datetime,
    rejects_path: Path | None,
    progress: Progress | None,
) -> CreateResult:
    if not query.strip():
        raise BadInputError("the query is empty")
    url = normalise_source_url(source_url)
    marketing_list = MarketingList(
        name=name,
        kind=ListKind.QUERY,
        query=query.strip(),
        source_url_encrypted=box.encrypt(url),
        email_column=(email_column or "").strip(),  # empty: found among the query's columns
        field_columns=[],
    )
    session.add(marketing_list)
    session.flush()
    try:
        result: RefreshResult = refresh_query_list(
            session.connection(), marketing_list, box, now=now, progress=progress, rejects_path=rejects_path
        )
    except SourceError as exc:
        raise BadInputError(f"cannot use the query over {mask_url(url)}: {exc.message}") from exc
    if result.rows_read and not result.new:
        first = f" (row {result.rejects[0].line}: {result.rejects[0].reason})" if result.rejects else ""
        raise BadInputError(
            f"none of the query's {result.rows_read} rows has a valid email in column "
            f"{marketing_list.email_column!r}{first}; name the email column with --email-column"
        )
    return CreateResult(name, ListKind.QUERY, marketing_list.email_column, result)


def import_members(
    session: Session,
    name: str,
    path: Path,
    *,
    now: datetime,
    email_column: str | None = None,
    encoding: str | None = None,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert a static list's members from a CSV file. Existing members keep their state; fields are replaced.

    The email column is ``email_column``, else the list's email column, else one named like "email". New
    columns of the file are added to the list's fields.
    """
    marketing_list = get_list(session, name)
    if marketing_list.kind != ListKind.STATIC:
        raise BadInputError(f"list {name!r} is query-backed: its members come from its query, not from files")
    with CsvFile(path, encoding=encoding or DEFAULT_ENCODING) as csv_file:
        wanted = email_column
        if wanted is None and any(c.lower() == marketing_list.email_column.lower() for c in csv_file.header):
            wanted = marketing_list.email_column
        column = find_email_column(csv_file.header, wanted, source=str(path))
        known = list(marketing_list.field_columns or [])
        added = [c for c in field_columns(csv_file.header, column) if c not in known]
        if added:
            marketing_list.field_columns = known + added
        marketing_list.updated_at = now
        session.flush()
        return load_csv(
            session.connection(),
            marketing_list.id,
            csv_file,
            email_column=column,
            now=now,
            rejects_path=rejects_path,
            progress=progress,
        )


def _email(value: str) -> str:
    email, reason = normalise_email(value)
    if email is None:
        raise BadInputError(reason or f"invalid email {value!r}")
    return email


def _member(session: Session, marketing_list: MarketingList, email: str) -> ListMember | None:
    return session.scalar(
        select(ListMember).where(ListMember.list_id == marketing_list.id, ListMember.email == email)
    )


def _set_state(member: ListMember, state: str, reason: str | None, now: datetime) -> None:
    member.state = state
    member.state_reason = reason
    member.state_changed_at = now


def add_member(
    session: Session,
    name: str,
    email: str,
    *,
    now: datetime,
    fields: Mapping[str, str] | None = None,
    resubscribe: bool = False,
) -> MemberChange:
    """Add or update one member by hand.

    A new email becomes a subscribed member. A known member gets the given fields merged into its own; if it
    was removed it is subscribed again; if it unsubscribed (opted out) it stays unsubscribed unless
    ``resubscribe`` is set. On a query-backed list only members the query returned can be re-subscribed.
    """
    marketing_list = get_list(session, name)
    address = _email(email)
    given = dict(fields or {})
    for key in given:
        if not key.strip():
            raise BadInputError("a field name is empty (use --field NAME=VALUE)")
    member = _member(session, marketing_list, address)
    if marketing_list.kind == ListKind.QUERY:
        if member is None:
            raise BadInputError(
                f"list {name!r} is query-backed: its members come from its query; "
                f"{address} is not one of them"
            )
        if given:
            raise BadInputError(f"list {name!r} is query-backed: its fields come from its query")
    # Taken before any write: the export's plan then waits for this transaction (dotsync.lists.changes).
    seq = next_change(session.connection(), marketing_list.id)
    if given:
        known = list(marketing_list.field_columns or [])
        added = [k for k in given if k not in known]
        if added:
            marketing_list.field_columns = known + added
    if member is None:
        session.add(
            ListMember(
                list_id=marketing_list.id,
                email=address,
                fields=given,
                fields_hash=fields_hash(given),
                state=MemberState.SUBSCRIBED,
                state_changed_at=now,
                is_current=True,
                change_seq=seq,
            )
        )
        session.flush()
        return MemberChange(address, MemberOutcome.ADDED, MemberState.SUBSCRIBED)

    outcome = MemberOutcome.UNCHANGED
    merged = {**(member.fields or {}), **given}
    if merged != member.fields:
        member.fields = merged
        member.fields_hash = fields_hash(merged)
        member.change_seq = seq
        outcome = MemberOutcome.UPDATED
    if member.state == MemberState.REMOVED or (member.state == MemberState.UNSUBSCRIBED and resubscribe):
        _set_state(member, MemberState.SUBSCRIBED, None, now)
        member.change_seq = seq
        outcome = MemberOutcome.RESUBSCRIBED
    elif member.state == MemberState.UNSUBSCRIBED:
        outcome = MemberOutcome.KEPT_UNSUBSCRIBED
    session.flush()
    return MemberChange(address, outcome, MemberState(member.state))


def remove_member(session: Session, name: str, email: str, *, now: datetime) -> MemberChange:
    """Take a member out of the list (state ``removed``). An unsubscribed member stays unsubscribed."""
    marketing_list = get_list(session, name)
    address = _email(email)
    member = _member(session, marketing_list, address)
    if member is None:
        raise NotFoundError(f"{address} is not a member of list {name!r}")
    if member.state == MemberState.REMOVED:
        return MemberChange(address, MemberOutcome.ALREADY, MemberState.REMOVED)
    if member.state == MemberState.UNSUBSCRIBED:  # an opt-out is stronger than a removal: never weaken it
        return MemberChange(address, MemberOutcome.KEPT_UNSUBSCRIBED, MemberState.UNSUBSCRIBED)
    member.change_seq = next_change(session.connection(), marketing_list.id)
    _set_state(member, MemberState.REMOVED, REASON_REMOVED_BY_USER, now)
    session.flush()
    return MemberChange(address, MemberOutcome.REMOVED, MemberState.REMOVED)


def unsubscribe_member(session: Session, name: str, email: str, *, now: datetime) -> MemberChange:
    """Mark a member as opted out (state ``unsubscribed``): never exported again until re-subscribed."""
    marketing_list = get_list(session, name)
    address = _email(email)
    member = _member(session, marketing_list, address)
    if member is None:
        raise NotFoundError(f"{address} is not a member of list {name!r}")
    if member.state == MemberState.UNSUBSCRIBED:
        return MemberChange(address, MemberOutcome.ALREADY, MemberState.UNSUBSCRIBED)
    member.change_seq = next_change(session.connection(), marketing_list.id)
    _set_state(member, MemberState.UNSUBSCRIBED, REASON_UNSUBSCRIBED_BY_USER, now)
    session.flush()
    return MemberChange(address, MemberOutcome.UNSUBSCRIBED, MemberState.UNSUBSCRIBED)


@dataclass(frozen=True)
class MemberCounts:
    """A list's members per state (current members only), their total, and those that left a query's result."""

    subscribed: int
    unsubscribed: int
    removed: int
    total: int
    left_query: int


@dataclass(frozen=True)
class ListBookView:
    """The address book a list is connected to."""

    name: str
    id: int
    integration: str
    connected_at: datetime | None
    missing_since: datetime | None
    sync_status: str | None
    sync_error: str | None  # or why the mass-change guard holds its export


@dataclass(frozen=True)
class ListView:
    """A list as ``list ls|show`` show it; its source URL only ever masked."""

    name: str
    kind: str
    email_column: str
    fields: list[str]
    source: str | None
    query: str | None
    members: MemberCounts
    address_book: ListBookView | None
    refreshed_at: datetime | None
    source_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MemberView:
    """One member as ``list members`` shows it."""

    email: str
    state: str
    reason: str | None
    changed_at: datetime | None
    current: bool
    fields: dict[str, Any]


def _counts(session: Session, list_ids: list[int]) -> dict[int, MemberCounts]:
    found: dict[int, dict[str, int]] = {i: {} for i in list_ids}
    if list_ids:
        rows = session.execute(
            select(ListMember.list_id, ListMember.state, ListMember.is_current, func.count())
            .where(ListMember.list_id.in_(list_ids))
            .group_by(ListMember.list_id, ListMember.state, ListMember.is_current)
        )
        for list_id, state, current, count in rows:
            key = state if current else "left_query"
            found[list_id][key] = found[list_id].get(key, 0) + int(count)
    return {
        list_id: MemberCounts(
            subscribed=by_state.get(MemberState.SUBSCRIBED, 0),
            unsubscribed=by_state.get(MemberState.UNSUBSCRIBED, 0),
            removed=by_state.get(MemberState.REMOVED, 0),
            total=sum(by_state.get(state, 0) for state in MemberState),
            left_query=by_state.get("left_query", 0),
        )
        for list_id, by_state in found.items()
    }


def _source(box: SecretBox, marketing_list: MarketingList) -> str | None:
    if not marketing_list.source_url_encrypted:
        return None
    try:
        return mask_url(box.decrypt(marketing_list.source_url_encrypted))
    except ConfigError:
        return "(encrypted with another secret key)"


def _view(box: SecretBox, marketing_list: MarketingList, counts: MemberCounts) -> ListView:
    book = marketing_list.address_book
    return ListView(
        name=marketing_list.name,
        kind=marketing_list.kind,
        email_column=marketing_list.email_column,
        fields=list(marketing_list.field_columns or []),
        source=_source(box, marketing_list),
        query=marketing_list.query,
        members=counts,
        address_book=None
        if book is None
        else ListBookView(
            name=book.name,
            id=book.origin_id,
            integration=book.integration.name,
            connected_at=book.connected_at,
            missing_since=book.missing_since,
            sync_status=book.sync_status,
            sync_error=book.guard_held_reason or book.sync_error,
        ),
        refreshed_at=marketing_list.refreshed_at,
        source_error=marketing_list.source_error,
        created_at=marketing_list.created_at,
        updated_at=marketing_list.updated_at,
    )


def list_views(session: Session, box: SecretBox) -> list[ListView]:
    """Every list, by name, with member counts per state and its connected book (never a full source URL)."""
    lists = list(session.scalars(select(MarketingList).order_by(MarketingList.name)))
    counts = _counts(session, [m.id for m in lists])
    return [_view(box, m, counts[m.id]) for m in lists]


def list_view(session: Session, box: SecretBox, name: str) -> ListView:
    """One list: kind, masked source, email column, fields, counts per state, connected book."""
    marketing_list = get_list(session, name)
    return _view(box, marketing_list, _counts(session, [marketing_list.id])[marketing_list.id])


def iter_members(session: Session, name: str, *, state: str = MemberState.SUBSCRIBED) -> Iterator[MemberView]:
    """The list's members, by email, streamed from the database.

    ``state`` subscribed/unsubscribed/removed: current members in that state (members that left a query's
    result are not current); ``all``: every member, current or not. The list is looked up at once, so an
    unknown name fails before anything is yielded.
    """
    if state not in STATE_FILTERS:
        raise BadInputError(f"unknown state {state!r}; expected one of {', '.join(STATE_FILTERS)}")
    marketing_list = get_list(session, name)
    stmt = (
        select(
            ListMember.email,
            ListMember.state,
            ListMember.state_reason,
            ListMember.state_changed_at,
            ListMember.is_current,
            ListMember.fields,
        )
        .where(ListMember.list_id == marketing_list.id)
        .order_by(ListMember.email)
    )
    if state != STATE_ALL:
        stmt = stmt.where(ListMember.state == state, ListMember.is_current.is_(True))

    def generate() -> Iterator[MemberView]:
        result = session.execute(stmt, execution_options={"yield_per": 1000})
        for email, member_state, reason, changed_at, current, fields in result:
            yield MemberView(email, member_state, reason, changed_at, bool(current), fields or {})

    return generate()


def delete_list(session: Session, name: str, *, force: bool = False) -> str | None:
    """Delete a list and its members; refused while connected to an address book unless ``force``.

    Returns the name of the book it was disconnected from, if any.
    """
    marketing_list = get_list(session, name)
    book = marketing_list.address_book
    if book is not None and not force:
        raise BadInputError(
            f"list {name!r} is connected to address book {book.name!r}; disconnect it first "
            f"(`dotsync disconnect {name}`) or delete it anyway with --force"
        )
    disconnected = None
    if book is not None:
        disconnected = book.name
        book.marketing_list = None
        book.connected_at = None
    session.delete(marketing_list)
    session.flush()
    return disconnected
