"""Parsing of recorded Dotmailer payloads (reference §14) in camelCase, PascalCase and lower case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from dotsync.dotmailer.models import (
    ApiAccountInfo,
    ApiAddressBook,
    ApiCampaign,
    ApiCampaignContactClick,
    ApiCampaignContactOpen,
    ApiCampaignContactSummary,
    ApiCampaignSummary,
    ApiContact,
    ApiContactImport,
    ApiContactImportReport,
    ApiContactSuppression,
    ApiDataField,
    parse_api_datetime,
)

from .conftest import (
    ACCOUNT_INFO,
    ACTIVITIES_LOWER,
    ADDRESS_BOOKS,
    CAMPAIGNS,
    CASINGS,
    CLICKS,
    CONTACTS,
    OPENS,
    ORO_CAMPAIGN,
    SUMMARY,
    SUPPRESSED_M2,
    UNSUBSCRIBED,
    recase,
)

casings = pytest.mark.parametrize("casing", sorted(CASINGS))


def _in(casing: str, payload: Any) -> Any:
    return recase(payload, CASINGS[casing])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-01-02T00:00:00", datetime(2013, 1, 2, tzinfo=UTC)),
        ("2015-11-24T11:48:38.397", datetime(2015, 11, 24, 11, 48, 38, 397000, tzinfo=UTC)),
        ("2015-09-11T11:06:47.7644899+01:00", datetime(2015, 9, 11, 10, 6, 47, 764489, tzinfo=UTC)),
        ("2015-10-22T11:08:46+01:00", datetime(2015, 10, 22, 10, 8, 46, tzinfo=UTC)),
        ("2015-04-15T13:48:33.013Z", datetime(2015, 4, 15, 13, 48, 33, 13000, tzinfo=UTC)),
        ("2015-10-10T00:00:00z", datetime(2015, 10, 10, tzinfo=UTC)),
        ("2019-05-01 00:00:00", datetime(2019, 5, 1, tzinfo=UTC)),
        ("2015-10-10T00:00:00+0000", datetime(2015, 10, 10, tzinfo=UTC)),
        ("2015-10-10T00:00:00-0530", datetime(2015, 10, 10, 5, 30, tzinfo=UTC)),
        ("2015-10-10T00:00:00+02", datetime(2015, 10, 9, 22, tzinfo=UTC)),
        ("2015-10-10", datetime(2015, 10, 10, tzinfo=UTC)),
        ("2015-10-10T12:30", datetime(2015, 10, 10, 12, 30, tzinfo=UTC)),
        # reference §15: the vendor's suppressed-since example (space, six fraction digits, offset)
        ("2020-01-01 09:40:18.527000+00:00", datetime(2020, 1, 1, 9, 40, 18, 527000, tzinfo=UTC)),
        ("2015-09-11T11:06:47.76448991234-02:00", datetime(2015, 9, 11, 13, 6, 47, 764489, tzinfo=UTC)),
        # .NET's DateTime.MinValue is "no date", with or without a zone (an offset on year 1 cannot go to UTC)
        ("0001-01-01T00:00:00", None),
        ("0001-01-01T00:00:00+01:00", None),
        ("0001-01-01T00:00:00.0000000Z", None),
        (" 2015-10-10T00:00:00Z ", datetime(2015, 10, 10, tzinfo=UTC)),
        ("", None),
        ("null", None),
        (None, None),
    ],
)
def test_every_documented_date_form_becomes_aware_utc(text: str | None, expected: datetime | None) -> None:
    parsed = parse_api_datetime(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None
        assert parsed.utcoffset().total_seconds() == 0


def test_datetime_objects_are_normalised_to_utc() -> None:
    naive = datetime(2020, 1, 1, 12)
    assert parse_api_datetime(naive) == datetime(2020, 1, 1, 12, tzinfo=UTC)
    assert parse_api_datetime(naive.date()) == datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("yesterday", "not a recognised date"),
        ("2015-13-45T00:00:00", r"month must be in 1\.\.12"),
        ("2020-01-021T00:00:00", "not a recognised date: '2020-01-021T00:00:00'"),  # the vendor's typo (§15)
        ("2015-10-10T25:00:00Z", "not a recognised date"),
        (12345, "expected a date string, got int"),
    ],
)
def test_unparseable_dates_are_rejected(bad: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_api_datetime(bad)


@casings
def test_account_info_properties(casing: str) -> None:
    info = ApiAccountInfo.model_validate(_in(casing, ACCOUNT_INFO))
    assert info.id == 1
    assert info.name == "Demo"
    assert info.main_email == "demo@apiconnector.com"
    assert info.api_endpoint == "https://r1-api.dotmailer.com"
    assert info.calls_remaining == 1985
    assert info.calls_in_last_hour == 15
    assert info.get_property("availableemailsendscredits") == "153"


def test_account_info_tolerates_missing_or_odd_properties() -> None:
    info = ApiAccountInfo.model_validate(
        {
            "id": 2,
            "properties": [
                {"name": "ApiCallsRemaining", "value": "lots"},
                {"name": "ApiEndpoint", "value": " "},
            ],
        }
    )
    assert info.calls_remaining is None
    assert info.api_endpoint is None
    assert ApiAccountInfo.model_validate({"properties": None}).properties == []


@casings
def test_address_books(casing: str) -> None:
    books = [ApiAddressBook.model_validate(item) for item in _in(casing, ADDRESS_BOOKS)]
    assert [(b.id, b.name, b.visibility, b.contacts) for b in books][:2] == [
        (1, "Address book 1", "Private", 5),
        (2, "Address book 2", "Public", 7),
    ]


@casings
def test_contacts_with_data_fields(casing: str) -> None:
    contacts = [ApiContact.model_validate(item) for item in _in(casing, CONTACTS)]
    assert contacts[0].id == 11
    assert contacts[0].status == "SoftBounced"
    assert contacts[0].data_fields == []
    alex = contacts[1]
    assert (alex.email, alex.opt_in_type, alex.email_type, alex.status) == (
        "test4@test.com",
        "Single",
        "PlainText",
        "Subscribed",
    )
    assert alex.data_field_map["FIRSTNAME"] == "Alex"
    assert alex.data_field("lastname") == "Test"
    assert alex.data_field("missing") is None
    assert [f.key for f in alex.data_fields][:2] == ["FIRSTNAME", "LASTNAME"]


def test_contact_keeps_null_string_inside_data_field_values_only() -> None:
    contact = ApiContact.model_validate(
        {"id": "7", "email": "a@b.c", "status": "null", "dataFields": [{"key": "NICK", "value": "null"}]}
    )
    assert contact.id == 7
    assert contact.status is None
    assert contact.data_field_map == {"NICK": "null"}
    assert ApiContact.model_validate({"email": "x@y.z", "dataFields": None}).data_fields == []


def test_contact_without_email_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ApiContact.model_validate({"id": 1})


@casings
def test_unsubscribed_since_rows(casing: str) -> None:
    rows = [ApiContactSuppression.model_validate(item) for item in _in(casing, UNSUBSCRIBED)]
    assert rows[0].contact_id == 42
    assert rows[0].email == "second@mail.com"
    assert rows[0].suppressed_contact.email_type == "PlainText"
    assert rows[0].date_removed == datetime(2015, 10, 10, tzinfo=UTC)
    assert rows[0].reason == "Unsubscribed"


def test_suppressed_since_rows_with_email_only() -> None:
    rows = [ApiContactSuppression.model_validate(item) for item in SUPPRESSED_M2]
    assert [r.email for r in rows] == [
        "ben@onboardingforlivechatforengagementcloudformagento.co.uk",
        "test-suppress@emailsim.io",
        "i@resubscribedrecently.com",
    ]
    assert rows[0].contact_id is None
    assert rows[0].date_removed == datetime(2019, 5, 1, tzinfo=UTC)


@casings
def test_campaigns(casing: str) -> None:
    campaigns = [ApiCampaign.model_validate(item) for item in _in(casing, CAMPAIGNS)]
    sent = campaigns[1]
    assert (sent.id, sent.name, sent.status, sent.reply_action) == (
        4,
        "New product promotion",
        "Sent",
        "WebMailForward",
    )
    assert sent.from_address is not None
    assert sent.from_address.email == "demo@apiconnector.com"
    assert sent.from_address.id == 1
    assert sent.is_split_test is False
    assert sent.html_content is None
    assert sent.reply_to_address == "demo@apiconnector.com"


def test_campaign_from_oro_mock_with_lower_keys_and_strings() -> None:
    campaign = ApiCampaign.model_validate(ORO_CAMPAIGN)
    assert campaign.from_name == "CityBeach"
    assert campaign.from_address is not None
    assert campaign.from_address.id == 6141
    assert campaign.html_content is None  # the string "null"
    assert campaign.plain_text_content is None
    assert campaign.is_split_test is False  # the string "false"
    assert campaign.reply_action == "Webmail"


def test_campaign_sender_given_as_plain_email() -> None:
    campaign = ApiCampaign.model_validate({"id": 1, "fromAddress": "news@example.com", "status": "NewStatus"})
    assert campaign.from_address is not None
    assert campaign.from_address.email == "news@example.com"
    assert campaign.status == "NewStatus"  # unknown enum values are kept, not rejected
    assert ApiCampaign.model_validate({"id": 1, "fromAddress": ""}).from_address is None


REFERENCE_SUMMARY_FIELDS = [
    "dateSent",
    "numUniqueOpens",
    "numUniqueTextOpens",
    "numTotalUniqueOpens",
    "numOpens",
    "numTextOpens",
    "numTotalOpens",
    "numClicks",
    "numTextClicks",
    "numTotalClicks",
    "numPageViews",
    "numTotalPageViews",
    "numTextPageViews",
    "numForwards",
    "numTextForwards",
    "numEstimatedForwards",
    "numTextEstimatedForwards",
    "numTotalEstimatedForwards",
    "numReplies",
    "numTextReplies",
    "numTotalReplies",
    "numHardBounces",
    "numTextHardBounces",
    "numTotalHardBounces",
    "numSoftBounces",
    "numTextSoftBounces",
    "numTotalSoftBounces",
    "numUnsubscribes",
    "numTextUnsubscribes",
    "numTotalUnsubscribes",
    "numIspComplaints",
    "numTextIspComplaints",
    "numTotalIspComplaints",
    "numMailBlocks",
    "numTextMailBlocks",
    "numTotalMailBlocks",
    "numSent",
    "numTextSent",
    "numTotalSent",
    "numRecipientsClicked",
    "numDelivered",
    "numTextDelivered",
    "numTotalDelivered",
    "percentageDelivered",
    "percentageUniqueOpens",
    "percentageOpens",
    "percentageUnsubscribes",
    "percentageReplies",
    "percentageHardBounces",
    "percentageSoftBounces",
    "percentageUsersClicked",
    "percentageClicksToOpens",
]


# The current API adds these five to the 52 of §9.4 (reference §15).
COMMERCE_SUMMARY_FIELDS = ["revenue", "conversionRate", "assistedRevenue", "numOrders", "numAssistedOrders"]


def test_summary_has_exactly_the_52_reference_fields_and_the_5_commerce_fields() -> None:
    aliases = [field.alias for field in ApiCampaignSummary.model_fields.values()]
    assert aliases == REFERENCE_SUMMARY_FIELDS + COMMERCE_SUMMARY_FIELDS
    assert len(REFERENCE_SUMMARY_FIELDS) == 52
    assert set(SUMMARY) == set(REFERENCE_SUMMARY_FIELDS)


@casings
def test_campaign_summary(casing: str) -> None:
    summary = ApiCampaignSummary.model_validate(_in(casing, SUMMARY))
    assert summary.date_sent == datetime(2013, 1, 2, tzinfo=UTC)
    assert summary.num_total_opens == 18
    assert summary.num_recipients_clicked == 9
    assert summary.percentage_opens == 1.125
    items = summary.model_dump()  # snake_case names, in API order
    assert len(items) == 57
    assert (items["revenue"], items["num_orders"]) == (None, 0)  # absent from the older example
    assert items["num_isp_complaints"] == 1
    assert items["percentage_clicks_to_opens"] == 0.5
    assert next(iter(items)) == "date_sent"
    assert summary.model_dump(by_alias=True)["numTotalUniqueOpens"] == 13


def test_summary_missing_counts_default_to_zero() -> None:
    summary = ApiCampaignSummary.model_validate(
        {"numOpens": None, "numClicks": "", "percentageOpens": "null"}
    )
    assert (summary.num_opens, summary.num_clicks, summary.percentage_opens, summary.date_sent) == (
        0,
        0,
        0.0,
        None,
    )


@casings
def test_activities(casing: str) -> None:
    row = ApiCampaignContactSummary.model_validate(_in(casing, ACTIVITIES_LOWER)[0])
    assert row.contact_id == 147
    assert row.num_opens == 3
    assert row.num_estimated_forwards == 2
    assert row.date_sent == datetime(2015, 4, 15, 13, 48, 33, 13000, tzinfo=UTC)
    assert row.first_open_ip == "61.249.92.173"
    assert (row.unsubscribed, row.soft_bounced, row.hard_bounced) == (False, False, False)


def test_activity_boolean_strings_and_missing_dates() -> None:
    row = ApiCampaignContactSummary.model_validate(
        {"contactId": 1, "unsubscribed": "true", "hardBounced": "True", "dateFirstOpened": None}
    )
    assert row.unsubscribed is True
    assert row.hard_bounced is True
    assert row.soft_bounced is False
    assert row.date_first_opened is None


@casings
def test_clicks_and_opens(casing: str) -> None:
    click = ApiCampaignContactClick.model_validate(_in(casing, CLICKS)[0])
    assert (click.contact_id, click.url, click.keyword) == (147, "https://example.com/offer", "offer")
    assert click.date_clicked == datetime(2015, 4, 16, 13, 50, tzinfo=UTC)
    opened = ApiCampaignContactOpen.model_validate(_in(casing, OPENS)[0])
    assert (opened.mail_client, opened.is_html, opened.is_forward) == ("Outlook", True, False)
    assert opened.date_opened == datetime(2015, 9, 11, 10, 6, 47, 764489, tzinfo=UTC)


def test_import_models() -> None:
    assert ApiContactImport.model_validate(
        {"ID": "2d2cac85-e292-4f35-988c-ddb5ba40dda0", "Status": "Finished"}
    ) == (ApiContactImport(id="2d2cac85-e292-4f35-988c-ddb5ba40dda0", status="Finished"))
    report = ApiContactImportReport.model_validate(
        {"newcontacts": 3, "InvalidEntries": "1", "unknownCount": 9}
    )
    assert (report.new_contacts, report.invalid_entries, report.failures) == (3, 1, 0)
    assert len(ApiContactImportReport.model_fields) == 15  # §7.5's 14 plus suppressedContacts (§15)
    assert ApiContactImportReport.model_validate({"suppressedContacts": 2}).suppressed_contacts == 2


def test_data_field_default_forms() -> None:
    assert (
        ApiDataField.model_validate(
            {"name": "A", "type": "String", "defaultValue": {"value": "x"}}
        ).default_value
        == "x"
    )
    assert (
        ApiDataField.model_validate({"Name": "B", "Type": "Numeric", "DefaultValue": "null"}).default_value
        is None
    )
    field = ApiDataField.model_validate(
        {"name": "C", "type": "Boolean", "visibility": "Public", "defaultvalue": True}
    )
    assert (field.type, field.visibility, field.default_value) == ("Boolean", "Public", True)


def test_unknown_fields_are_ignored_and_numbers_become_text() -> None:
    campaign = ApiCampaign.model_validate(
        {"id": "9", "name": 2024, "isSplitTest": 0, "brandNewField": {"x": 1}}
    )
    assert (campaign.id, campaign.name, campaign.is_split_test) == (9, "2024", False)
    assert "brandNewField" not in campaign.model_dump(by_alias=True)


def test_booleans_in_text_fields_and_wrapped_null_defaults() -> None:
    click = ApiCampaignContactClick.model_validate({"contactId": 1, "keyword": True, "url": False})
    assert (click.keyword, click.url) == ("true", "false")
    assert ApiDataField.model_validate({"name": "D", "defaultValue": {"Value": "null"}}).default_value is None
