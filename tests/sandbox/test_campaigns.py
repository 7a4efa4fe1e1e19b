"""Campaigns: listing per book, summary consistent with activities, opens/clicks, the since-date feeds."""

from __future__ import annotations

import httpx
import pytest

from dotsync.sandbox import Account, Campaign, Sandbox
from dotsync.sandbox.campaigns import SUMMARY_INT_FIELDS

# The summary's nine ratios (reference §9.4); the sandbox computes each by name.
SUMMARY_RATIO_FIELDS = [
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

CAMPAIGN_KEYS = {
    "id",
    "name",
    "subject",
    "fromName",
    "fromAddress",
    "htmlContent",
    "plainTextContent",
    "replyAction",
    "replyToAddress",
    "isSplitTest",
    "status",
}


@pytest.fixture
def campaign(account: Account) -> Campaign:
    book = account.create_book("Newsletter")
    account.add_contacts(book, [f"c{n}@example.com" for n in range(10)])
    account.add_contacts(book, [{"email": "text@example.com", "emailType": "PlainText"}])
    return account.send_campaign(
        "Spring",
        [book],
        opens=["c0@example.com", "c1@example.com", "text@example.com"],
        clicks=["c1@example.com", "c2@example.com"],
        hard_bounces=["c9@example.com"],
        soft_bounces=["c8@example.com"],
        unsubscribes=["c3@example.com"],
    )


def test_campaign_shapes_and_book_campaigns(
    client: httpx.Client, account: Account, campaign: Campaign
) -> None:
    book_id = campaign.book_ids[0]
    listed = client.get(f"/address-books/{book_id}/campaigns").json()
    assert [c["id"] for c in listed] == [campaign.id]
    assert set(listed[0]) == CAMPAIGN_KEYS
    assert listed[0]["status"] == "Sent"
    assert client.get(f"/campaigns/{campaign.id}").json()["name"] == "Spring"
    assert client.get("/campaigns/999").json() == {"message": "Error: ERROR_CAMPAIGN_NOT_FOUND"}
    assert [b["id"] for b in client.get(f"/campaigns/{campaign.id}/address-books").json()] == [book_id]
    other = account.create_book("Other")
    assert client.get(f"/address-books/{other.id}/campaigns").json() == []


def test_summary_is_consistent_with_activities(client: httpx.Client, campaign: Campaign) -> None:
    summary = client.get(f"/campaigns/{campaign.id}/summary").json()
    commerce = {"revenue", "conversionRate", "assistedRevenue", "numOrders", "numAssistedOrders"}  # §15
    assert set(summary) == {"dateSent", *SUMMARY_INT_FIELDS, *SUMMARY_RATIO_FIELDS, *commerce}
    assert len(summary) == 57
    assert (summary["revenue"], summary["numOrders"]) == ("$0.00", 0)
    activities = client.get(f"/campaigns/{campaign.id}/activities").json()
    opens = client.get(f"/campaigns/{campaign.id}/opens").json()
    clicks = client.get(f"/campaigns/{campaign.id}/clicks").json()
    assert summary["numTotalSent"] == len(activities) == 11
    assert (summary["numSent"], summary["numTextSent"]) == (10, 1)
    assert summary["numTotalOpens"] == sum(a["numOpens"] for a in activities) == len(opens)
    assert summary["numTotalClicks"] == sum(a["numClicks"] for a in activities) == len(clicks) == 2
    assert summary["numTotalUniqueOpens"] == sum(1 for a in activities if a["numOpens"]) == 4  # c2 clicked
    assert summary["numTextOpens"] == sum(o["isHtml"] is False for o in opens)
    assert (summary["numTotalHardBounces"], summary["numTotalSoftBounces"]) == (1, 1)
    assert summary["numTotalDelivered"] == 9
    assert summary["numTotalUnsubscribes"] == 1
    assert summary["numRecipientsClicked"] == 2
    assert summary["percentageDelivered"] == pytest.approx(9 / 11)
    assert summary["percentageClicksToOpens"] == pytest.approx(2 / summary["numTotalOpens"])
    assert summary["dateSent"] == "2024-03-01T12:00:00Z"
    first = activities[0]
    assert set(first) == {
        "contactId",
        "email",
        "numOpens",
        "numPageViews",
        "numClicks",
        "numForwards",
        "numEstimatedForwards",
        "numReplies",
        "dateSent",
        "dateFirstOpened",
        "dateLastOpened",
        "firstOpenIp",
        "unsubscribed",
        "softBounced",
        "hardBounced",
    }
    assert set(opens[0]) == {
        "contactId",
        "email",
        "mailClient",
        "mailClientVersion",
        "ipAddress",
        "userAgent",
        "isHtml",
        "isForward",
        "dateOpened",
    }
    assert set(clicks[0]) == {"contactId", "email", "url", "ipAddress", "userAgent", "dateClicked", "keyword"}


def test_campaign_outcomes_change_contacts(
    client: httpx.Client, account: Account, campaign: Campaign
) -> None:
    suppressed = {
        s["suppressedContact"]["email"]: s["reason"]
        for s in client.get("/contacts/suppressed-since/2024-01-01").json()
    }
    assert suppressed == {"c9@example.com": "HardBounced", "c3@example.com": "Unsubscribed"}
    assert account.find_contact("c8@example.com").status == "SoftBounced"


def test_since_date_feeds(
    sandbox: Sandbox, client: httpx.Client, account: Account, campaign: Campaign
) -> None:
    account.create_campaign("Draft")
    since = "2024-03-01T13:00:00Z"
    assert client.get(f"/campaigns/with-activity-since/{since}").json() == []
    assert [c["name"] for c in client.get("/campaigns/with-activity-since/2024-03-01").json()] == ["Spring"]
    sandbox.advance(hours=2)
    account.record_activity(campaign, "c5@example.com", opens=2, clicks=1)
    assert [c["id"] for c in client.get(f"/campaigns/with-activity-since/{since}").json()] == [campaign.id]
    recent = client.get(f"/campaigns/{campaign.id}/activities/since-date/{since}").json()
    assert [(a["email"], a["numOpens"], a["numClicks"]) for a in recent] == [("c5@example.com", 2, 1)]
    assert len(client.get(f"/campaigns/{campaign.id}/opens/since-date/{since}").json()) == 2
    assert len(client.get(f"/campaigns/{campaign.id}/clicks/since-date/{since}").json()) == 1
    assert len(client.get(f"/campaigns/{campaign.id}/activities?select=5&skip=10").json()) == 1
    assert [c["name"] for c in client.get("/campaigns").json()] == ["Spring", "Draft"]


def test_random_activity_is_reproducible(account: Account) -> None:
    def run(seed: int) -> list[str]:
        sandbox = Sandbox(seed=seed)
        acct = sandbox.add_account("u", "p")
        book = acct.create_book("B")
        acct.add_contacts(book, [f"r{n}@example.com" for n in range(50)])
        sent = acct.send_campaign("C", [book], opens=0.5, clicks=5, hard_bounces=2)
        return sorted(a.email for a in sent.activities.values() if a.num_opens or a.hard_bounced)

    assert run(3) == run(3)
    assert run(3) != run(4)
