"""Fixtures for the Dotmailer client tests: a client for respx, and sample payloads (ref. §14)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dotsync.dotmailer import DotmailerClient
from tests.support.fixtures import MakeClient

ACCOUNT_INFO: dict[str, Any] = {
    "id": 1,
    "properties": [
        {"name": "AvailableEmailSendsCredits", "type": "Int", "value": "153"},
        {"name": "AvailableSmsSendsCredits", "type": "Int", "value": "276"},
        {
            "name": "ListManagedUsers",
            "type": "String",
            "value": "subaccount@example.com, subuser@example.com",
        },
        {"name": "Name", "type": "String", "value": "Demo"},
        {"name": "MainMobilePhoneNumber", "type": "String", "value": "01818181818"},
        {"name": "MainEmail", "type": "String", "value": "demo@apiconnector.com"},
        {"name": "ApiCallsInLastHour", "type": "Int", "value": "15"},
        {"name": "ApiCallsRemaining", "type": "Int", "value": "1985"},
        {"name": "ApiEndpoint", "type": "String", "value": "https://r1-api.dotmailer.com"},
    ],
}

ADDRESS_BOOKS: list[dict[str, Any]] = [
    {"id": 1, "name": "Address book 1", "visibility": "Private", "contacts": 5},
    {"id": 2, "name": "Address book 2", "visibility": "Public", "contacts": 7},
    {"id": 3, "name": "Address book 3", "visibility": "Private", "contacts": 7},
    {"id": 4, "name": "Address book 4", "visibility": "Public", "contacts": 6},
]

CONTACTS: list[dict[str, Any]] = [
    {"id": 11, "email": "test11@test.com", "status": "SoftBounced"},
    {
        "id": 67,
        "email": "test4@test.com",
        "optInType": "Single",
        "emailType": "PlainText",
        "status": "Subscribed",
        "dataFields": [
            {"key": "FIRSTNAME", "value": "Alex"},
            {"key": "LASTNAME", "value": "Test"},
            {"key": "FULLNAME", "value": "fullname"},
            {"key": "POSTCODE", "value": "postcode"},
            {"key": "GENDER", "value": "male"},
            {"key": "LASTSUBSCRIBED", "value": "2015-01-01T00:00:00z"},
        ],
    },
    {
        "id": 75,
        "email": "test43@test.com",
        "optInType": "VerifiedDouble",
        "emailType": "Html",
        "status": "Subscribed",
    },
]

UNSUBSCRIBED: list[dict[str, Any]] = [
    {
        "suppressedContact": {
            "Id": 42,
            "Email": "second@mail.com",
            "EmailType": "PlainText",
            "DataFields": [],
            "Status": "Subscribed",
        },
        "dateRemoved": "2015-10-10T00:00:00z",
        "reason": "Unsubscribed",
    }
]

SUPPRESSED_M2: list[dict[str, Any]] = [
    {
        "suppressedContact": {"email": "ben@onboardingforlivechatforengagementcloudformagento.co.uk"},
        "dateRemoved": "2019-05-01 00:00:00",
        "reason": "Suppressed",
    },
    {
        "suppressedContact": {"email": "test-suppress@emailsim.io"},
        "dateRemoved": "2019-05-01 00:00:00",
        "reason": "Suppressed",
    },
    {
        "suppressedContact": {"email": "i@resubscribedrecently.com"},
        "dateRemoved": "2019-05-01 00:00:00",
        "reason": "Suppressed",
    },
]

CAMPAIGNS: list[dict[str, Any]] = [
    {
        "id": 2,
        "name": "Financial update",
        "subject": "Financial update",
        "fromName": "Company name",
        "fromAddress": {"id": 2, "email": "demo@apiconnector.com"},
        "htmlContent": None,
        "plainTextContent": None,
        "replyAction": "Unset",
        "replyToAddress": None,
        "isSplitTest": False,
        "status": "Unsent",
    },
    {
        "id": 4,
        "name": "New product promotion",
        "subject": "New product!",
        "fromName": "Company name",
        "fromAddress": {"id": 1, "email": "demo@apiconnector.com"},
        "htmlContent": None,
        "plainTextContent": None,
        "replyAction": "WebMailForward",
        "replyToAddress": "demo@apiconnector.com",
        "isSplitTest": False,
        "status": "Sent",
    },
]

ORO_CAMPAIGN: dict[str, Any] = {
    "id": 15662,
    "name": "NewsLetter",
    "subject": "News Letter",
    "fromname": "CityBeach",
    "fromaddress": {"id": 6141, "email": "Arbitbet@dotmailer-email.com"},
    "htmlcontent": "null",
    "plaintextcontent": "null",
    "replyaction": "Webmail",
    "replytoaddress": "",
    "issplittest": "false",
    "status": "Sent",
}

SUMMARY: dict[str, Any] = {
    "dateSent": "2013-01-02T00:00:00",
    "numUniqueOpens": 3, "numUniqueTextOpens": 10, "numTotalUniqueOpens": 13,
    "numOpens": 4, "numTextOpens": 14, "numTotalOpens": 18,
    "numClicks": 1, "numTextClicks": 8, "numTotalClicks": 9,
    "numPageViews": 6, "numTotalPageViews": 33, "numTextPageViews": 27,
    "numForwards": 1, "numTextForwards": 8,
    "numEstimatedForwards": 6, "numTextEstimatedForwards": 27, "numTotalEstimatedForwards": 33,
    "numReplies": 2, "numTextReplies": 2, "numTotalReplies": 4,
    "numHardBounces": 1, "numTextHardBounces": 0, "numTotalHardBounces": 1,
    "numSoftBounces": 1, "numTextSoftBounces": 0, "numTotalSoftBounces": 1,
    "numUnsubscribes": 1, "numTextUnsubscribes": 2, "numTotalUnsubscribes": 3,
    "numIspComplaints": 1, "numTextIspComplaints": 0, "numTotalIspComplaints": 1,
    "numMailBlocks": 0, "numTextMailBlocks": 0, "numTotalMailBlocks": 0,
    "numSent": 6, "numTextSent": 12, "numTotalSent": 18,
    "numRecipientsClicked": 9,
    "numDelivered": 4, "numTextDelivered": 12, "numTotalDelivered": 16,
    "percentageDelivered": 0.8888888888888888, "percentageUniqueOpens": 0.8125, "percentageOpens": 1.125,
    "percentageUnsubscribes": 0.1875, "percentageReplies": 0.25, "percentageHardBounces": 0.05555555555555555,
    "percentageSoftBounces": 0.0625, "percentageUsersClicked": 0.5625, "percentageClicksToOpens": 0.5,
}  # fmt: skip

ACTIVITIES_LOWER: list[dict[str, Any]] = [
    {
        "email": "alex.case@example.com",
        "numopens": 3,
        "numpageviews": 0,
        "numclicks": 0,
        "numforwards": 0,
        "numestimatedforwards": 2,
        "numreplies": 0,
        "datesent": "2015-04-15T13:48:33.013Z",
        "datefirstopened": "2015-04-16T13:48:33.013Z",
        "datelastopened": "2015-04-16T13:48:33.013Z",
        "firstopenip": "61.249.92.173",
        "unsubscribed": "false",
        "softbounced": "false",
        "hardbounced": "false",
        "contactid": 147,
    }
]

CLICKS: list[dict[str, Any]] = [
    {
        "contactId": 147,
        "email": "alex.case@example.com",
        "url": "https://example.com/offer",
        "ipAddress": "61.249.92.173",
        "userAgent": "Mozilla/5.0",
        "dateClicked": "2015-04-16T13:50:00.000Z",
        "keyword": "offer",
    }
]

OPENS: list[dict[str, Any]] = [
    {
        "contactId": 147,
        "email": "alex.case@example.com",
        "mailClient": "Outlook",
        "mailClientVersion": "2016",
        "ipAddress": "61.249.92.173",
        "userAgent": "Mozilla/5.0",
        "isHtml": True,
        "isForward": False,
        "dateOpened": "2015-09-11T11:06:47.7644899+01:00",
    }
]

FAULTS_CSV = (
    "Reason,email,firstname,lastname,gender,fullname,postcode\n"
    "Hard bounced,test1@ex.com,Bonnie,Ibrahim,,,\n"
    "Hard bounced,catherinejhinojosa@armyspy.com,Catherine,Hinojosa,,,\n"
    "Hard bounced,frankjclarke@gustr.com,Frank,Clarke,,,\n"
)


def recase(value: Any, transform: Callable[[str], str]) -> Any:
    """Apply ``transform`` to every object key, recursively (to build PascalCase / lower-case variants)."""
    if isinstance(value, dict):
        return {transform(k): recase(v, transform) for k, v in value.items()}
    if isinstance(value, list):
        return [recase(v, transform) for v in value]
    return value


def pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


CASINGS: dict[str, Callable[[str], str]] = {"camel": lambda k: k, "pascal": pascal, "lower": str.lower}


@pytest.fixture
def client(make_client: MakeClient) -> DotmailerClient:
    """A client from the shared ``make_client`` (tests/support/fixtures.py); tests mock its calls with respx."""
    return make_client()
