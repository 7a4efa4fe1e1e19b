"""Campaigns in the sandbox: who a campaign was sent to, per-contact activity, open/click events, the summary.

The summary is always computed from the recorded activity, so it is consistent with ``/activities``,
``/opens`` and ``/clicks`` by construction. Un-prefixed ``num*`` counts are the HTML part, ``numText*`` the
plain-text part (contacts whose ``emailType`` is ``PlainText``), ``numTotal*`` both (reference §9.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dotsync.sandbox.dates import NO_DATE, format_date

SUMMARY_INT_FIELDS = [
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
]


def fake_ip(contact_id: int) -> str:
    """A stable, fake IPv4 address for a contact (documentation range 198.51.x.x)."""
    return f"198.51.{(contact_id >> 8) & 255}.{contact_id & 255}"


@dataclass(slots=True)
class Activity:
    """What one contact did with one campaign (ApiCampaignContactSummary)."""

    contact_id: int
    email: str
    is_text: bool
    date_sent: datetime
    changed: datetime
    num_opens: int = 0
    num_page_views: int = 0
    num_clicks: int = 0
    num_forwards: int = 0
    num_estimated_forwards: int = 0
    num_replies: int = 0
    date_first_opened: datetime | None = None
    date_last_opened: datetime | None = None
    first_open_ip: str | None = None
    unsubscribed: bool = False
    soft_bounced: bool = False
    hard_bounced: bool = False

    def to_json(self) -> dict[str, Any]:
        """The API's camelCase shape."""
        return {
            "contactId": self.contact_id,
            "email": self.email,
            "numOpens": self.num_opens,
            "numPageViews": self.num_page_views,
            "numClicks": self.num_clicks,
            "numForwards": self.num_forwards,
            "numEstimatedForwards": self.num_estimated_forwards,
            "numReplies": self.num_replies,
            # Non-nullable .NET dates: "never" is DateTime.MinValue (reference §15).
            "dateSent": format_date(self.date_sent) or NO_DATE,
            "dateFirstOpened": format_date(self.date_first_opened) or NO_DATE,
            "dateLastOpened": format_date(self.date_last_opened) or NO_DATE,
            "firstOpenIp": self.first_open_ip,
            "unsubscribed": self.unsubscribed,
            "softBounced": self.soft_bounced,
            "hardBounced": self.hard_bounced,
        }


@dataclass(slots=True)
class OpenEvent:
    """One open (ApiCampaignContactOpen)."""

    activity: Activity
    date: datetime

    def to_json(self) -> dict[str, Any]:
        """The API's camelCase shape."""
        a = self.activity
        return {
            "contactId": a.contact_id,
            "email": a.email,
            "mailClient": "Sandbox Mail",
            "mailClientVersion": "1.0",
            "ipAddress": fake_ip(a.contact_id),
            "userAgent": "Mozilla/5.0 (dotsync sandbox)",
            "isHtml": not a.is_text,
            "isForward": False,
            "dateOpened": format_date(self.date),
        }


@dataclass(slots=True)
class ClickEvent:
    """One click (ApiCampaignContactClick)."""

    activity: Activity
    url: str
    date: datetime

    def to_json(self) -> dict[str, Any]:
        """The API's camelCase shape."""
        a = self.activity
        return {
            "contactId": a.contact_id,
            "email": a.email,
            "url": self.url,
            "ipAddress": fake_ip(a.contact_id),
            "userAgent": "Mozilla/5.0 (dotsync sandbox)",
            "dateClicked": format_date(self.date),
            "keyword": "",
        }


@dataclass
class Campaign:
    """One campaign (ApiCampaign) with the books it went to and everything recipients did."""

    id: int
    name: str
    subject: str
    from_name: str = "Sandbox"
    from_email: str = "news@sandbox.example"
    from_id: int = 1
    reply_action: str = "Unset"
    reply_to: str = ""
    is_split_test: bool = False
    status: str = "Unsent"
    book_ids: list[int] = field(default_factory=list)
    date_sent: datetime | None = None
    last_activity: datetime | None = None
    activities: dict[int, Activity] = field(default_factory=dict)
    opens: list[OpenEvent] = field(default_factory=list)
    clicks: list[ClickEvent] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """ApiCampaign as list calls return it (contents null)."""
        return {
            "id": self.id,
            "name": self.name,
            "subject": self.subject,
            "fromName": self.from_name,
            "fromAddress": {"id": self.from_id, "email": self.from_email},
            "htmlContent": None,
            "plainTextContent": None,
            "replyAction": self.reply_action,
            "replyToAddress": self.reply_to,
            "isSplitTest": self.is_split_test,
            "status": self.status,
        }

    def _touch(self, activity: Activity, when: datetime) -> None:
        activity.changed = when
        if self.last_activity is None or when > self.last_activity:
            self.last_activity = when

    def add_recipient(self, contact_id: int, email: str, is_text: bool, when: datetime) -> Activity:
        """Record that the campaign was sent to a contact."""
        activity = Activity(contact_id, email, is_text, when, when)
        self.activities[contact_id] = activity
        self._touch(activity, when)
        return activity

    def record_open(self, contact_id: int, when: datetime, count: int = 1) -> None:
        """``count`` opens by a recipient at ``when``."""
        a = self.activities[contact_id]
        for _ in range(count):
            a.num_opens += 1
            if a.date_first_opened is None:
                a.date_first_opened = when
                a.first_open_ip = fake_ip(contact_id)
            a.date_last_opened = when
            self.opens.append(OpenEvent(a, when))
        self._touch(a, when)

    def record_click(self, contact_id: int, when: datetime, url: str) -> None:
        """A click (a contact who never opened is counted as opening first, as a real client would)."""
        a = self.activities[contact_id]
        if a.num_opens == 0:
            self.record_open(contact_id, when)
        a.num_clicks += 1
        a.num_page_views += 1
        self.clicks.append(ClickEvent(a, url, when))
        self._touch(a, when)

    def record_bounce(self, contact_id: int, when: datetime, *, hard: bool) -> None:
        """A hard or soft bounce for a recipient."""
        a = self.activities[contact_id]
        if hard:
            a.hard_bounced = True
        else:
            a.soft_bounced = True
        self._touch(a, when)

    def record_unsubscribe(self, contact_id: int, when: datetime) -> None:
        """A recipient unsubscribed through this campaign."""
        a = self.activities[contact_id]
        a.unsubscribed = True
        self._touch(a, when)

    def summary(self) -> dict[str, Any]:
        """ApiCampaignSummary (52 fields), computed from the recorded activity."""
        n: dict[str, int] = dict.fromkeys(SUMMARY_INT_FIELDS, 0)
        for a in self.activities.values():
            t = "Text" if a.is_text else ""
            n[f"num{t}Sent"] += 1
            n[f"num{t}HardBounces"] += a.hard_bounced
            n[f"num{t}SoftBounces"] += a.soft_bounced
            if not (a.hard_bounced or a.soft_bounced):
                n[f"num{t}Delivered"] += 1
            n[f"num{t}Opens"] += a.num_opens
            n[f"numUnique{t}Opens"] += a.num_opens > 0
            n[f"num{t}Clicks"] += a.num_clicks
            n[f"num{t}PageViews"] += a.num_page_views
            n[f"num{t}Forwards"] += a.num_forwards
            n[f"num{t}EstimatedForwards"] += a.num_estimated_forwards
            n[f"num{t}Replies"] += a.num_replies
            n[f"num{t}Unsubscribes"] += a.unsubscribed
            n["numRecipientsClicked"] += a.num_clicks > 0
        for name in (
            "UniqueOpens",
            "Opens",
            "Clicks",
            "PageViews",
            "EstimatedForwards",
            "Replies",
            "HardBounces",
            "SoftBounces",
            "Unsubscribes",
            "IspComplaints",
            "MailBlocks",
            "Sent",
            "Delivered",
        ):
            text_key = "numUniqueTextOpens" if name == "UniqueOpens" else f"numText{name}"
            n[f"numTotal{name}"] = n[f"num{name}"] + n[text_key]

        def ratio(a: int, b: int) -> float:
            return a / b if b else 0.0

        delivered, sent = n["numTotalDelivered"], n["numTotalSent"]
        ratios = {
            "percentageDelivered": ratio(delivered, sent),
            "percentageUniqueOpens": ratio(n["numTotalUniqueOpens"], delivered),
            "percentageOpens": ratio(n["numTotalOpens"], delivered),
            "percentageUnsubscribes": ratio(n["numTotalUnsubscribes"], delivered),
            "percentageReplies": ratio(n["numTotalReplies"], delivered),
            "percentageHardBounces": ratio(n["numTotalHardBounces"], sent),
            "percentageSoftBounces": ratio(n["numTotalSoftBounces"], delivered),
            "percentageUsersClicked": ratio(n["numRecipientsClicked"], delivered),
            "percentageClicksToOpens": ratio(n["numTotalClicks"], n["numTotalOpens"]),
        }
        # The current API adds commerce figures (reference §15); the sandbox has no orders.
        commerce = {
            "revenue": "$0.00",
            "conversionRate": 0.0,
            "assistedRevenue": "$0.00",
            "numOrders": 0,
            "numAssistedOrders": 0,
        }
        return {"dateSent": format_date(self.date_sent), **n, **ratios, **commerce}
