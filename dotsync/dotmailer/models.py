"""Typed ``Api*`` models of Dotmailer REST API v2 payloads (pydantic v2), parsed tolerantly.

Part of the HTTP layer: these models describe what Dotmailer sends, not what dotsync stores (no database
knowledge here). The real API answers in camelCase, but recorded payloads in the wild use PascalCase or
all-lower-case keys, stringified scalars (``"false"``, ``"3"``) and the string ``"null"``; so every model

* matches keys case-insensitively (``numopens``, ``NumOpens`` and ``numOpens`` are one field) and ignores
  unknown keys, so new API fields never break a sync;
* turns the string ``"null"`` into None (except inside contact data-field values, where it may be real data);
* parses every date form Dotmailer has been seen to send into a timezone-aware UTC datetime (zone-less values
  are UTC, per the API's conventions);
* keeps enum-like fields (statuses, visibility, types) as plain strings, so an unknown value is not an error.

Python attribute names are snake_case; ``model_dump(by_alias=True)`` gives the API's camelCase back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator
from pydantic.alias_generators import to_camel

# Dotmailer's dates are .NET DateTime values that cannot be null: "never" is sent as year 1.
NO_DATE_YEAR = 1


def parse_api_datetime(value: Any) -> datetime | None:
    """Parse a Dotmailer date into an aware UTC datetime; None for null, ``""``, ``"null"`` and year 1.

    ``0001-01-01T00:00:00`` is .NET's ``DateTime.MinValue``: the API sends it for a date that is not there
    (a contact who never opened), so it means no date, not the year 1.

    Accepted: ``2013-01-02T00:00:00`` (UTC assumed), ``2015-11-24T11:48:38.397``, 7 fractional digits,
    ``Z``/``z``, offsets with or without a colon, a space instead of ``T``, and a bare date.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text or text.lower() == "null":
            return None
        parsed = _parse_date_text(text)
    else:
        raise ValueError(f"expected a date string, got {type(value).__name__}")
    if parsed.year <= NO_DATE_YEAR:
        # .NET's DateTime.MinValue (0001-01-01T00:00:00): a non-nullable date field saying "never".
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_date_text(text: str) -> datetime:
    # fromisoformat (3.11+) reads every ISO form of reference §3.2 and §15: a space for the T, any number of
    # fractional digits (.NET's 7 are cut to microseconds), offsets with or without a colon, Z, a bare date.
    # Only a lower-case z is left to us.
    if text[-1] == "z":
        text = text[:-1] + "Z"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a recognised date: {text[:40]!r} ({exc})") from exc


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _none_to(default: Any) -> Any:
    def convert(value: Any) -> Any:
        value = _blank_to_none(value)
        return default if value is None else value

    return convert


def _scalar_to_str(value: Any) -> Any:
    # Old fixtures stringify everything and some clients send numbers where text is due; accept both.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


ApiDate = Annotated[datetime | None, BeforeValidator(parse_api_datetime)]
Text = Annotated[str | None, BeforeValidator(_scalar_to_str)]
OptInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
OptBool = Annotated[bool | None, BeforeValidator(_blank_to_none)]
OptFloat = Annotated[float | None, BeforeValidator(_blank_to_none)]
Count = Annotated[int, BeforeValidator(_none_to(0))]
Ratio = Annotated[float, BeforeValidator(_none_to(0.0))]
Flag = Annotated[bool, BeforeValidator(_none_to(False))]

_KEY_LOOKUPS: dict[type[BaseModel], dict[str, str]] = {}


class ApiModel(BaseModel):
    """Base of every payload model: case-insensitive keys, unknown keys ignored, ``"null"`` read as None."""

    model_config = ConfigDict(alias_generator=to_camel, extra="ignore")

    # Contact data-field values are user data: a FIRSTNAME of "null" must survive.
    _keep_null_strings: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _normalise_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        lookup = _KEY_LOOKUPS.get(cls)
        if lookup is None:
            lookup = {}
            for name, field in cls.model_fields.items():
                alias = field.alias or name
                lookup[name.lower()] = alias
                lookup[alias.lower()] = alias
            _KEY_LOOKUPS[cls] = lookup
        normalised: dict[str, Any] = {}
        for key, value in data.items():
            target = lookup.get(str(key).lower())
            if target is None:
                continue
            if not cls._keep_null_strings and isinstance(value, str) and value.strip().lower() == "null":
                value = None
            normalised[target] = value
        return normalised


def _lookup(pairs: Mapping[str, Any], name: str) -> Any:
    wanted = name.lower()
    return next((value for key, value in pairs.items() if key.lower() == wanted), None)


# --- account -------------------------------------------------------------------------------------------------


class ApiAccountProperty(ApiModel):
    """One ``{name, type, value}`` entry of account-info; ``value`` is always a string, even for ``Int``."""

    name: str
    type: Text = None
    value: Text = None


class ApiAccountInfo(ApiModel):
    """``GET /v2/account-info``: the account id and its properties (endpoint, call allowance, name...)."""

    id: OptInt = None
    properties: list[ApiAccountProperty] = []

    @field_validator("properties", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    def get_property(self, name: str) -> str | None:
        """The value of a property, matched case-insensitively; None when absent."""
        return _lookup({p.name: p.value for p in self.properties}, name)

    def _int_property(self, name: str) -> int | None:
        raw = self.get_property(name)
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    @property
    def name(self) -> str | None:
        return self.get_property("Name")

    @property
    def main_email(self) -> str | None:
        return self.get_property("MainEmail")

    @property
    def api_endpoint(self) -> str | None:
        """The account's regional endpoint (scheme + host), e.g. ``https://r1-api.dotdigital.com``."""
        value = self.get_property("ApiEndpoint")
        return value.strip() if value and value.strip() else None

    @property
    def calls_remaining(self) -> int | None:
        return self._int_property("ApiCallsRemaining")

    @property
    def calls_in_last_hour(self) -> int | None:
        return self._int_property("ApiCallsInLastHour")


# --- address books and contacts ------------------------------------------------------------------------------


class ApiAddressBook(ApiModel):
    """An address book; ``contacts`` is its member count. ``visibility``: Private, Public, ..."""

    id: int
    name: str
    visibility: Text = None
    contacts: OptInt = None


class ApiContactDataField(ApiModel):
    """One ``{key, value}`` data-field entry of a contact; the value keeps its JSON type."""

    _keep_null_strings: ClassVar[bool] = True

    key: str
    value: Any = None


class ApiContact(ApiModel):
    """A contact. ``status``: Subscribed, Unsubscribed, SoftBounced, HardBounced, ... (kept as text)."""

    id: OptInt = None
    email: str
    opt_in_type: Text = None
    email_type: Text = None
    data_fields: list[ApiContactDataField] = []
    status: Text = None

    @field_validator("data_fields", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def data_field_map(self) -> dict[str, Any]:
        """Data fields as ``{KEY: value}`` (keys as Dotmailer spells them, usually upper case)."""
        return {field.key: field.value for field in self.data_fields}

    def data_field(self, key: str) -> Any:
        """One data field's value, matching the key case-insensitively; None when absent."""
        return _lookup(self.data_field_map, key)


class ApiContactRow(ApiModel):
    """A contact of a book listing as the contact import uses it: :class:`ApiContact` with its data fields as
    one ``{KEY: value}`` dict (later keys win, as in :attr:`ApiContact.data_field_map`).

    A book read back is a thousand contacts a page: in the API's exact shape (camelCase keys, plain types, no
    ``"null"`` strings) a row is built directly, one object per contact and no validators; any other shape is
    read by :class:`ApiContact` and converted, so both ways give the same row.
    """

    id: OptInt = None
    email: str
    opt_in_type: Text = None
    email_type: Text = None
    status: Text = None
    data_fields: dict[str, Any] = {}

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        **kwargs: Any,
    ) -> ApiContactRow:
        if strict is None and not from_attributes and context is None and not kwargs:
            fast = _contact_row_fast(cls, obj)
            if fast is not None:
                return fast
        contact = ApiContact.model_validate(
            obj, strict=strict, from_attributes=from_attributes, context=context, **kwargs
        )
        values = contact.model_dump(exclude={"data_fields"})
        values["data_fields"] = contact.data_field_map
        given = {name for name in contact.model_fields_set if name in cls.model_fields}
        return _construct(cls, values, given)


_CONTACT_KEYS = {
    "id": "id",
    "email": "email",
    "optInType": "opt_in_type",
    "emailType": "email_type",
    "status": "status",
}
_CONTACT_DEFAULTS: dict[str, Any] = {"id": None, "opt_in_type": None, "email_type": None, "status": None}
_set_attribute = object.__setattr__
M = TypeVar("M", bound=BaseModel)


def _construct(cls: type[M], values: dict[str, Any], given: set[str]) -> M:
    """What ``model_construct`` does for these plain models (no extra, no private attributes, no post-init),
    without its per-field alias search, which costs more than validating."""
    model = cls.__new__(cls)
    _set_attribute(model, "__dict__", values)
    _set_attribute(model, "__pydantic_fields_set__", given)
    _set_attribute(model, "__pydantic_extra__", None)
    _set_attribute(model, "__pydantic_private__", None)
    return model


def _plain_text(value: Any) -> bool:
    return value is None or (type(value) is str and value.strip().lower() != "null")


def _contact_row_fast(cls: type[ApiContactRow], data: Any) -> ApiContactRow | None:
    """The row built without validators when ``data`` is in the API's exact shape, else None."""
    if type(data) is not dict or cls.__pydantic_post_init__ is not None or cls.__private_attributes__:
        return None
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "dataFields":
            fields: dict[str, Any] = {}
            if value is not None:
                if type(value) is not list:
                    return None
                for item in value:
                    if type(item) is not dict or len(item) != 2 or "value" not in item:
                        return None
                    name = item.get("key")
                    if type(name) is not str:
                        return None
                    fields[name] = item["value"]
            values["data_fields"] = fields
            continue
        name = _CONTACT_KEYS.get(key)
        if name is None:
            return None
        if name == "id":
            if value is not None and type(value) is not int:
                return None
        elif not _plain_text(value) or (name == "email" and value is None):
            return None
        values[name] = value
    if "email" not in values:
        return None
    given = set(values)
    return _construct(cls, {**_CONTACT_DEFAULTS, "data_fields": {}, **values}, given)


class ApiContactSuppression(ApiModel):
    """An opt-out: from unsubscribed-since (book or account) or suppressed-since. ``reason`` is a status."""

    suppressed_contact: ApiContact
    date_removed: ApiDate = None
    reason: Text = None

    @property
    def email(self) -> str:
        return self.suppressed_contact.email

    @property
    def contact_id(self) -> int | None:
        return self.suppressed_contact.id


# --- contact imports (dotsync's export) ----------------------------------------------------------------------


class ApiContactImport(ApiModel):
    """A contact import (CSV upload): GUID ``id`` and ``status`` (NotFinished, Finished, RejectedByWatchdog...)."""

    id: str
    status: Text = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return _scalar_to_str(value)


class ApiContactImportReport(ApiModel):
    """Counts of what an import did."""

    new_contacts: Count = 0
    updated_contacts: Count = 0
    globally_suppressed: Count = 0
    invalid_entries: Count = 0
    duplicate_emails: Count = 0
    blocked: Count = 0
    unsubscribed: Count = 0
    hard_bounced: Count = 0
    soft_bounced: Count = 0
    isp_complaints: Count = 0
    mail_blocked: Count = 0
    domain_suppressed: Count = 0
    pending_double_optin: Count = 0
    failures: Count = 0
    suppressed_contacts: Count = 0  # the 15th counter of the current API (reference §15)


class ApiImportFault(ApiModel):
    """One row of an import's faults CSV: the rejected email, why, and the other columns as uploaded."""

    email: str
    reason: str
    columns: dict[str, str] = {}


# --- data fields ---------------------------------------------------------------------------------------------


class ApiDataField(ApiModel):
    """A contact data field. ``type``: String, Numeric, Date, Boolean; ``visibility``: Private, Public."""

    name: str
    type: Text = None
    visibility: Text = None
    default_value: Any = None

    @field_validator("default_value", mode="before")
    @classmethod
    def _unwrap_value(cls, value: Any) -> Any:
        # Some payloads wrap the default as {"value": x}; the literal string "null" means no default.
        if isinstance(value, Mapping):
            value = _lookup(value, "value")
        if isinstance(value, str) and value.strip().lower() == "null":
            return None
        return value


class ApiDependency(ApiModel):
    """Something that still uses a data field (a campaign, a survey...).

    The schema says ``{type, objectId}``; the vendor's own example sends plain strings
    (``"Used in program 12345"``), which land in ``description``.
    """

    type: Text = None
    object_id: OptInt = None
    description: Text = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str | int):
            return {"description": str(data)}
        return data

    @property
    def reason(self) -> str:
        if self.description:
            return self.description
        what = self.type or "something"
        return f"used by {what} {self.object_id}" if self.object_id is not None else f"used by {what}"


class ApiDependencyResult(ApiModel):
    """Answer to a data-field delete: ``result`` False means it is still in use (see ``dependencies``)."""

    result: bool
    dependencies: list[ApiDependency] = []

    @field_validator("dependencies", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def reasons(self) -> list[str]:
        return [dependency.reason for dependency in self.dependencies]


# --- campaigns -----------------------------------------------------------------------------------------------


class ApiCampaignFromAddress(ApiModel):
    """The campaign's sender address."""

    id: OptInt = None
    email: Text = None


class ApiCampaign(ApiModel):
    """A campaign. ``status``: Unsent, Sending, Sent, ...; ``reply_action``: Unset, WebMailForward, ..."""

    id: int
    name: Text = None
    subject: Text = None
    from_name: Text = None
    from_address: ApiCampaignFromAddress | None = None
    html_content: Text = None
    plain_text_content: Text = None
    reply_action: Text = None
    reply_to_address: Text = None
    is_split_test: OptBool = None
    status: Text = None

    @field_validator("from_address", mode="before")
    @classmethod
    def _address_from_text(cls, value: Any) -> Any:
        # Some flattened payloads carry only the sender's email string.
        if isinstance(value, str):
            return {"email": value} if value.strip() else None
        return value


class ApiCampaignSummary(ApiModel):
    """A campaign's totals: ``num*`` = HTML part, ``numText*`` = plain text, ``numTotal*`` = both.

    ``percentage*`` values are ratios (0.5 = 50 %) and may exceed 1.
    """

    date_sent: ApiDate = None
    num_unique_opens: Count = 0
    num_unique_text_opens: Count = 0
    num_total_unique_opens: Count = 0
    num_opens: Count = 0
    num_text_opens: Count = 0
    num_total_opens: Count = 0
    num_clicks: Count = 0
    num_text_clicks: Count = 0
    num_total_clicks: Count = 0
    num_page_views: Count = 0
    num_total_page_views: Count = 0
    num_text_page_views: Count = 0
    num_forwards: Count = 0
    num_text_forwards: Count = 0
    num_estimated_forwards: Count = 0
    num_text_estimated_forwards: Count = 0
    num_total_estimated_forwards: Count = 0
    num_replies: Count = 0
    num_text_replies: Count = 0
    num_total_replies: Count = 0
    num_hard_bounces: Count = 0
    num_text_hard_bounces: Count = 0
    num_total_hard_bounces: Count = 0
    num_soft_bounces: Count = 0
    num_text_soft_bounces: Count = 0
    num_total_soft_bounces: Count = 0
    num_unsubscribes: Count = 0
    num_text_unsubscribes: Count = 0
    num_total_unsubscribes: Count = 0
    num_isp_complaints: Count = 0
    num_text_isp_complaints: Count = 0
    num_total_isp_complaints: Count = 0
    num_mail_blocks: Count = 0
    num_text_mail_blocks: Count = 0
    num_total_mail_blocks: Count = 0
    num_sent: Count = 0
    num_text_sent: Count = 0
    num_total_sent: Count = 0
    num_recipients_clicked: Count = 0
    num_delivered: Count = 0
    num_text_delivered: Count = 0
    num_total_delivered: Count = 0
    percentage_delivered: Ratio = 0.0
    percentage_unique_opens: Ratio = 0.0
    percentage_opens: Ratio = 0.0
    percentage_unsubscribes: Ratio = 0.0
    percentage_replies: Ratio = 0.0
    percentage_hard_bounces: Ratio = 0.0
    percentage_soft_bounces: Ratio = 0.0
    percentage_users_clicked: Ratio = 0.0
    percentage_clicks_to_opens: Ratio = 0.0
    # Added in the current API (reference §15): money as the account formats it, e.g. "$0.00".
    revenue: Text = None
    conversion_rate: OptFloat = None
    assisted_revenue: Text = None
    num_orders: Count = 0
    num_assisted_orders: Count = 0


class ApiCampaignContactSummary(ApiModel):
    """One contact's activity on a campaign (``/activities``): counts, dates and bounce/unsubscribe flags."""

    contact_id: OptInt = None
    email: Text = None
    num_opens: Count = 0
    num_page_views: Count = 0
    num_clicks: Count = 0
    num_forwards: Count = 0
    num_estimated_forwards: Count = 0
    num_replies: Count = 0
    date_sent: ApiDate = None
    date_first_opened: ApiDate = None
    date_last_opened: ApiDate = None
    first_open_ip: Text = None
    unsubscribed: Flag = False
    soft_bounced: Flag = False
    hard_bounced: Flag = False


class ApiCampaignContactClick(ApiModel):
    """One click on a campaign link."""

    contact_id: OptInt = None
    email: Text = None
    url: Text = None
    ip_address: Text = None
    user_agent: Text = None
    date_clicked: ApiDate = None
    keyword: Text = None


class ApiCampaignContactOpen(ApiModel):
    """One open of a campaign."""

    contact_id: OptInt = None
    email: Text = None
    mail_client: Text = None
    mail_client_version: Text = None
    ip_address: Text = None
    user_agent: Text = None
    is_html: OptBool = None
    is_forward: OptBool = None
    date_opened: ApiDate = None
