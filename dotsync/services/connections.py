"""Connections: one marketing list <-> one address book, with data-field mappings and guard thresholds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dotsync.db.lookups import connected_book, get_list
from dotsync.db.models import (
    AddressBook,
    AddressBookContact,
    ContactExport,
    DataField,
    FieldMapping,
    ImportStatus,
    Integration,
    ListKind,
    ListMember,
    MarketingList,
)
from dotsync.errors import BadInputError, NotFoundError
from dotsync.services.integrations import get_integration

if TYPE_CHECKING:
    # Annotations only: importing the orchestrator loads the API client and httpx, which the connection commands
    # need only when they call Dotmailer (through make_client), not at start-up.
    from dotsync.sync.orchestrator import ClientFactory

DATAFIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
DEFAULT_FIELD_NAMES = {
    "FIRSTNAME": ("firstname", "first_name", "first name", "givenname", "given_name"),
    "LASTNAME": ("lastname", "last_name", "last name", "surname", "familyname", "family_name"),
}


@dataclass(frozen=True)
class MappingView:
    """A list field (or several, joined) mapped to a Dotmailer data field."""

    fields: list[str]
    data_field: str
    two_way: bool
    direction: str  # "one-way" (list -> Dotmailer) or "two-way"


@dataclass(frozen=True)
class GuardView:
    """The mass-change guard's thresholds of a connection."""

    remove_percent: float
    remove_max: int
    update_percent: float


@dataclass(frozen=True)
class ConnectedView:
    """What ``connect`` made: the book, its mappings, and whether contacts new to the book join the list."""

    address_book: str
    mappings: list[MappingView]
    import_new_contacts: bool


@dataclass(frozen=True)
class ConnectionView:
    """``connection show``: a list's connection to its book."""

    list: str
    integration: str
    address_book: str
    address_book_id: int
    connected_at: datetime | None
    mappings: Sequence[MappingView]  # (not list[...]: the field `list` above hides the type here)
    import_new_contacts: bool
    sync_status: str | None
    sync_error: str | None
    held: str | None  # why the mass-change guard holds the export
    missing_since: datetime | None
    last_exported_at: datetime | None
    pending_imports: int
    contacts_in_book: int
    members: dict[str, int]  # per state, the states that have members
    guard: GuardView


def _mappings(book: AddressBook) -> list[MappingView]:
    return [
        MappingView(
            fields=m.list_fields.split("+"),
            data_field=m.data_field_name,
            two_way=m.two_way,
            direction="two-way" if m.two_way else "one-way",
        )
        for m in book.mappings
    ]


def find_book(session: Session, integration: Integration, ref: str) -> AddressBook:
    query = select(AddressBook).where(AddressBook.integration_id == integration.id)
    book = None
    if ref.isdigit():
        book = session.scalar(query.where(AddressBook.origin_id == int(ref)))
    if book is None:
        book = session.scalar(query.where(func.lower(AddressBook.name) == ref.lower()))
    if book is None:
        raise NotFoundError(
            f"no address book {ref!r} in integration {integration.name!r}; "
            "see `dotsync books list --available` (run `dotsync integration sync` to import books first)"
        )
    return book


def parse_maps(maps: Sequence[str]) -> list[tuple[str, str]]:
    """``FIELD=DATAFIELD`` (FIELD may join several list fields with ``+``) -> [(list fields, DATAFIELD)]."""
    parsed = []
    for item in maps:
        field, sep, data_field = item.partition("=")
        if not sep or not field.strip() or not data_field.strip():
            raise BadInputError(
                f"invalid --map {item!r}: expected FIELD=DATAFIELD, e.g. first_name=FIRSTNAME"
            )
        data_field = data_field.strip().upper()
        if not DATAFIELD_NAME.match(data_field):
            raise BadInputError(
                f"invalid data field name {data_field!r}: at most 20 letters, digits, '_' or '-'"
            )
        parsed.append(("+".join(p.strip() for p in field.split("+")), data_field))
    names = [d for _f, d in parsed]
    if len(set(names)) != len(names):
        raise BadInputError("each data field can be mapped only once")
    return parsed


def default_maps(field_columns: Sequence[str]) -> list[tuple[str, str]]:
    """FIRSTNAME, LASTNAME and FULLNAME (first + last) from like-named list fields, when the list has them."""
    by_lower = {c.lower(): c for c in field_columns}
    found: dict[str, str] = {}
    for data_field, candidates in DEFAULT_FIELD_NAMES.items():
        for candidate in candidates:
            if candidate in by_lower:
                found[data_field] = by_lower[candidate]
                break
    maps = [(column, data_field) for data_field, column in found.items()]
    if "FIRSTNAME" in found and "LASTNAME" in found:
        maps.append((f"{found['FIRSTNAME']}+{found['LASTNAME']}", "FULLNAME"))
    return maps


def _ensure_data_fields(
    session: Session,
    integration: Integration,
    wanted: Sequence[str],
    make_client: ClientFactory,
    create_missing: bool,
) -> None:
    known = set(session.scalars(select(DataField.name).where(DataField.integration_id == integration.id)))
    missing = [d for d in wanted if d not in known]
    if not missing:
        return
    with make_client(integration) as client:
        client.connect()
        remote = {f.name.upper(): f for f in client.list_data_fields()}
        for name in missing:
            field = remote.get(name)
            if field is None:
                if not create_missing:
                    raise BadInputError(
                        f"data field {name!r} does not exist in Dotmailer; create it with --create-datafields "
                        "(or map to an existing one: `dotsync datafields list`)"
                    )
                field = client.create_data_field(name, "String", "Private")
            session.add(
                DataField(
                    integration_id=integration.id,
                    name=field.name.upper(),
                    type=field.type or "String",
                    visibility=field.visibility,
                    default_value=None if field.default_value is None else str(field.default_value),
                )
            )
        session.flush()


def _set_mappings(
    session: Session,
    book: AddressBook,
    marketing_list: MarketingList,
    maps: list[tuple[str, str]],
    two_way: Sequence[str] = (),
) -> None:
    _check_list_fields(marketing_list, maps)
    for mapping in list(book.mappings):
        session.delete(mapping)
    session.flush()
    for fields, data_field in maps:
        session.add(
            FieldMapping(
                address_book_id=book.id,
                list_fields=fields,
                data_field_name=data_field,
                two_way=data_field in two_way,
            )
        )


def _check_list_fields(marketing_list: MarketingList, maps: Sequence[tuple[str, str]]) -> None:
    columns = set(marketing_list.field_columns or [])
    for fields, _data_field in maps:
        for field in fields.split("+"):
            if field not in columns:
                raise BadInputError(
                    f"list {marketing_list.name!r} has no field {field!r}; its fields are: "
                    + (", ".join(sorted(columns)) or "(none)")
                )


def _check_guard_options(
    remove_percent: float | None, remove_max: int | None, update_percent: float | None
) -> None:
    for value, label in ((remove_percent, "--remove-threshold"), (update_percent, "--update-threshold")):
        if value is not None and not 0 <= value <= 100:
            raise BadInputError(f"{label} must be a percentage between 0 and 100")
    if remove_max is not None and remove_max < 0:
        raise BadInputError("--remove-max must be 0 or more")


def _data_field_names(names: Sequence[str], option: str) -> list[str]:
    parsed = [n.strip().upper() for n in names]
    for name in parsed:
        if not DATAFIELD_NAME.match(name):
            raise BadInputError(
                f"invalid {option} {name!r}: a data field name (at most 20 letters, digits, '_' or '-')"
            )
    return parsed


def _check_incoming(
    marketing_list: MarketingList,
    mapped: Sequence[tuple[str, str]],
    two_way: Sequence[str],
    import_new_contacts: bool | None,
) -> None:
    """Refuse what cannot flow from Dotmailer into the list, before anything is changed (issue 15)."""
    if two_way and marketing_list.kind != ListKind.STATIC:
        raise BadInputError(
            f"--two-way is refused: list {marketing_list.name!r} is a query list, its source is read-only"
        )
    if import_new_contacts and marketing_list.kind != ListKind.STATIC:
        raise BadInputError(
            f"--import-new-contacts is refused: list {marketing_list.name!r} is a query list, "
            "its members come from its query"
        )
    fields_of = {data_field: fields for fields, data_field in mapped}
    for name in two_way:
        if name not in fields_of:
            raise BadInputError(
                f"--two-way {name}: no list field is mapped to data field {name!r} (map it with --map)"
            )
        if "+" in fields_of[name]:
            raise BadInputError(
                f"--two-way {name} is refused: it is mapped from several list fields "
                f"({fields_of[name].replace('+', ', ')}); only a mapping of one list field can be two-way"
            )


def _reread_if_new(book: AddressBook, turned_on: bool) -> None:
    """A direction turned on for a book read before: its next contact read is a full one (once), so contacts
    read earlier are looked at too, not only those modified from now on."""
    if turned_on and book.last_contact_import_at is not None:
        book.last_contact_import_at = None


def connect(
    session: Session,
    make_client: ClientFactory,
    *,
    list_name: str,
    book_ref: str,
    integration_name: str | None,
    maps: Sequence[str],
    create_datafields: bool,
    now: datetime,
    two_way: Sequence[str] = (),
    import_new_contacts: bool = False,
) -> ConnectedView:
    marketing_list = get_list(session, list_name)
    integration = get_integration(session, integration_name)
    book = find_book(session, integration, book_ref)
    if book.is_system:
        raise BadInputError(f"{book.name!r} is a Dotmailer system address book and cannot be connected")
    if book.missing_since is not None:
        raise BadInputError(f"address book {book.name!r} no longer exists in Dotmailer")
    if book.marketing_list_id is not None:
        other = session.get(MarketingList, book.marketing_list_id)
        raise BadInputError(
            f"address book {book.name!r} is already connected to list {other.name if other else '?'!r}"
        )
    existing = session.scalar(select(AddressBook).where(AddressBook.marketing_list_id == marketing_list.id))
    if existing is not None:
        raise BadInputError(f"list {list_name!r} is already connected to address book {existing.name!r}")
    parsed = parse_maps(maps) if maps else default_maps(marketing_list.field_columns or [])
    two_way = _data_field_names(two_way, "--two-way")
    _check_incoming(marketing_list, parsed, two_way, import_new_contacts)
    _check_list_fields(marketing_list, parsed)  # before any data field is created in Dotmailer
    _ensure_data_fields(session, integration, [d for _f, d in parsed], make_client, create_datafields)
    book.marketing_list_id = marketing_list.id
    book.import_new_contacts = import_new_contacts
    # The book's earlier reads (if it was connected before) were for another list: read it all again.
    _reread_if_new(book, bool(two_way) or import_new_contacts)
    book.connected_at = now
    book.sync_status = None
    book.sync_error = None
    book.sync_error_import_id = None
    book.guard_held_reason = None
    _set_mappings(session, book, marketing_list, parsed, two_way)
    session.flush()
    session.refresh(book)
    return ConnectedView(book.name, _mappings(book), book.import_new_contacts)


def update_connection(
    session: Session,
    make_client: ClientFactory,
    *,
    list_name: str,
    maps: Sequence[str] | None,
    create_datafields: bool,
    remove_percent: float | None,
    remove_max: int | None,
    update_percent: float | None,
    resync: bool,
    two_way: Sequence[str] = (),
    one_way: Sequence[str] = (),
    import_new_contacts: bool | None = None,
) -> AddressBook:
    marketing_list = get_list(session, list_name)
    book = connected_book(session, marketing_list)
    # Every option is checked before anything changes, and before any data field is created in Dotmailer.
    _check_guard_options(remove_percent, remove_max, update_percent)
    two_way = _data_field_names(two_way, "--two-way")
    one_way = _data_field_names(one_way, "--one-way")
    both = sorted(set(two_way) & set(one_way))
    if both:
        raise BadInputError(f"data field {both[0]!r} cannot be both --two-way and --one-way")
    parsed = parse_maps(maps) if maps else [(m.list_fields, m.data_field_name) for m in book.mappings]
    # Two-way mappings are kept through a --map change when still mapped from one field, unless --one-way.
    was_two_way = {m.data_field_name for m in book.mappings if m.two_way}
    single = {d for f, d in parsed if "+" not in f}
    wanted = (was_two_way & single if marketing_list.kind == ListKind.STATIC else set()) | set(two_way)
    wanted -= set(one_way)
    mapped = {d for _f, d in parsed}
    for name in one_way:
        if name not in mapped:
            raise BadInputError(f"--one-way {name}: no list field is mapped to data field {name!r}")
    _check_incoming(marketing_list, parsed, two_way, import_new_contacts)
    _check_list_fields(marketing_list, parsed)
    turned_on = bool(wanted - was_two_way) or (import_new_contacts is True and not book.import_new_contacts)
    if maps:
        _ensure_data_fields(
            session, book.integration, [d for _f, d in parsed], make_client, create_datafields
        )
        _set_mappings(session, book, marketing_list, parsed, sorted(wanted))
        session.flush()
        session.refresh(book)
    else:
        for mapping in book.mappings:
            mapping.two_way = mapping.data_field_name in wanted
    if import_new_contacts is not None:
        book.import_new_contacts = import_new_contacts
    _reread_if_new(book, turned_on)
    if remove_percent is not None:
        book.guard_remove_percent = remove_percent
    if update_percent is not None:
        book.guard_update_percent = update_percent
    if remove_max is not None:
        book.guard_remove_max = remove_max
    if resync:
        # Forget what was last sent: the next export plans and sends every subscribed member again.
        book.plan_signature = None
        session.execute(
            update(AddressBookContact)
            .where(AddressBookContact.address_book_id == book.id)
            .values(sent_hash=None)
        )
    session.flush()
    return book


def disconnect(session: Session, list_name: str) -> str:
    """Disconnect a list from its book (whose name it returns). History is kept; the book's contacts are left in
    Dotmailer."""
    marketing_list = get_list(session, list_name)
    book = connected_book(session, marketing_list)
    book.marketing_list_id = None
    book.connected_at = None
    book.plan_signature = book.planned_seq = None  # a new connection plans every member
    book.guard_held_reason = None
    for mapping in list(book.mappings):
        session.delete(mapping)
    session.flush()
    return book.name


def show_connection(session: Session, list_name: str) -> ConnectionView:
    """``connection show``."""
    marketing_list = get_list(session, list_name)
    book = connected_book(session, marketing_list)
    pending = session.scalar(
        select(func.count())
        .select_from(ContactExport)
        .where(ContactExport.address_book_id == book.id, ContactExport.status == ImportStatus.NOT_FINISHED)
    )
    states = dict(
        session.execute(
            select(ListMember.state, func.count())
            .where(ListMember.list_id == marketing_list.id)
            .group_by(ListMember.state)
        ).all()
    )
    in_book = session.scalar(
        select(func.count())
        .select_from(AddressBookContact)
        .where(AddressBookContact.address_book_id == book.id)
    )
    return ConnectionView(
        list=marketing_list.name,
        integration=book.integration.name,
        address_book=book.name,
        address_book_id=book.origin_id,
        connected_at=book.connected_at,
        mappings=_mappings(book),
        import_new_contacts=book.import_new_contacts,
        sync_status=book.sync_status,
        sync_error=book.sync_error,
        held=book.guard_held_reason,
        missing_since=book.missing_since,
        last_exported_at=book.last_exported_at,
        pending_imports=int(pending or 0),
        contacts_in_book=int(in_book or 0),
        members={state: int(n) for state, n in states.items()},
        guard=GuardView(
            remove_percent=book.guard_remove_percent,
            remove_max=book.guard_remove_max,
            update_percent=book.guard_update_percent,
        ),
    )
