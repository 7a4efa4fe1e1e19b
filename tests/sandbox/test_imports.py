"""Bulk imports: both upload forms, lifecycle, report, faults CSV, opt-outs never re-added, limits."""

from __future__ import annotations

import httpx
import pytest

from dotsync.sandbox import Account, Sandbox

from .helpers import csv_bytes, parse_faults, upload_json, upload_multipart, wait_finished

REPORT_KEYS = {
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
    "suppressedContacts",  # the 15th counter (reference §15)
}


@pytest.fixture
def book_id(account: Account) -> int:
    return account.create_book("Newsletter").id


@pytest.mark.parametrize("upload", [upload_json, upload_multipart])
def test_import_lifecycle(client: httpx.Client, account: Account, book_id: int, upload) -> None:  # type: ignore[no-untyped-def]
    data = csv_bytes(
        ["email", "FirstName", "EmailType"],
        [["ann@example.com", "Ann", "PlainText"], ["bob@example.com", "", ""]],
    )
    started = upload(client, book_id, data)
    assert started.status_code == 202
    body = started.json()
    assert set(body) == {"id", "status"}
    assert body["status"] == "NotFinished"
    assert len(body["id"]) == 36
    report = client.get(f"/contacts/import/{body['id']}/report")
    assert report.json()["message"].endswith("ERROR_IMPORT_REPORT_NOT_FOUND")
    assert client.get(f"/contacts/import/{body['id']}").json() == {"id": body["id"], "status": "NotFinished"}
    assert account.member_emails(book_id) == set()  # nothing applied while NotFinished
    assert client.get(f"/contacts/import/{body['id']}").json()["status"] == "Finished"
    assert account.member_emails(book_id) == {"ann@example.com", "bob@example.com"}
    ann = client.get("/contacts/ann@example.com").json()
    assert ann["emailType"] == "PlainText"
    assert {"key": "FIRSTNAME", "value": "Ann"} in ann["dataFields"]
    full = client.get(f"/contacts/import/{body['id']}/report").json()
    assert set(full) == REPORT_KEYS
    assert full["newContacts"] == 2
    assert full["updatedContacts"] == 0


def test_polls_before_finish_is_configurable(sandbox: Sandbox, client: httpx.Client, book_id: int) -> None:
    sandbox.imports.polls_before_finish = 3
    import_id = upload_json(client, book_id, csv_bytes(["Email"], [["a@example.com"]])).json()["id"]
    statuses = [client.get(f"/contacts/import/{import_id}").json()["status"] for _ in range(5)]
    assert statuses == ["NotFinished"] * 3 + ["Finished"] * 2


def test_imports_finish_in_upload_order(
    sandbox: Sandbox, client: httpx.Client, account: Account, book_id: int
) -> None:
    first = upload_json(
        client, book_id, csv_bytes(["Email", "FIRSTNAME"], [["a@example.com", "One"]])
    ).json()["id"]
    second = upload_json(
        client, book_id, csv_bytes(["Email", "FIRSTNAME"], [["a@example.com", "Two"]])
    ).json()["id"]
    assert wait_finished(client, second) == "Finished"
    assert client.get(f"/contacts/import/{first}").json()["status"] == "Finished"
    assert account.find_contact("a@example.com").data == {"FIRSTNAME": "Two"}
    assert client.get(f"/contacts/import/{second}/report").json()["updatedContacts"] == 1


def test_faults_report_and_opt_outs_are_never_readded(
    sandbox: Sandbox, client: httpx.Client, account: Account, book_id: int
) -> None:
    account.add_contacts(book_id, ["gone@example.com"])
    account.unsubscribe(book_id, "gone@example.com")
    account.suppress("bounced@example.com", "HardBounced")
    account.suppress("blocked@example.com", "Suppressed")
    rows = [
        ["ok@example.com", "Ok"],
        ["not an email", "X"],
        ["OK@example.com", "Again"],
        ["gone@example.com", "Gone"],
        ["bounced@example.com", "Bounce"],
        ["blocked@example.com", "Block"],
    ]
    import_id = upload_json(client, book_id, csv_bytes(["Email", "FIRSTNAME"], rows)).json()["id"]
    assert wait_finished(client, import_id) == "Finished"
    report = client.get(f"/contacts/import/{import_id}/report").json()
    assert (report["newContacts"], report["invalidEntries"], report["duplicateEmails"]) == (1, 1, 1)
    assert (report["unsubscribed"], report["hardBounced"], report["globallySuppressed"]) == (1, 1, 1)
    faults = client.get(f"/contacts/import/{import_id}/report-faults")
    assert faults.headers["content-type"].startswith("text/csv")
    parsed = parse_faults(faults.content)
    assert parsed[0] == ["Reason", "Email", "FIRSTNAME"]
    assert parsed[1:] == [
        ["Invalid Email", "not an email", "X"],
        ["Duplicate", "OK@example.com", "Again"],
        ["Unsubscribed", "gone@example.com", "Gone"],
        ["Hard bounced", "bounced@example.com", "Bounce"],
        ["Globally Suppressed", "blocked@example.com", "Block"],
    ]
    assert account.member_emails(book_id) == {"ok@example.com"}
    assert sandbox.history.readded_after_optout() == []
    rejected = {e.email: e.detail for e in sandbox.history.events(action="rejected")}
    assert rejected["gone@example.com"] == "Unsubscribed"


def test_readded_after_optout_spots_a_violation(sandbox: Sandbox, account: Account, book_id: int) -> None:
    account.add_contacts(book_id, ["x@example.com"])
    account.unsubscribe(book_id, "x@example.com")
    account.resubscribe("x@example.com", book_id)
    account.add_contacts(book_id, ["x@example.com"])
    assert sandbox.history.readded_after_optout() == []
    account.suppress("x@example.com")
    account.books[book_id].members.pop(account.find_contact("x@example.com").id)
    # bypass the API's rules on purpose, as a buggy path would
    account.add_member(account.books[book_id], account.find_contact("x@example.com"), "test")
    assert [e.email for e in sandbox.history.readded_after_optout(book_id)] == ["x@example.com"]


def test_watchdog_rejection_applies_nothing(
    sandbox: Sandbox, client: httpx.Client, account: Account, book_id: int
) -> None:
    sandbox.imports.watchdog_next = 1
    import_id = upload_json(client, book_id, csv_bytes(["Email"], [["a@example.com"]])).json()["id"]
    assert wait_finished(client, import_id) == "RejectedByWatchdog"
    assert account.member_emails(book_id) == set()
    assert client.get(f"/contacts/import/{import_id}/report").status_code == 404
    second = upload_json(client, book_id, csv_bytes(["Email"], [["a@example.com"]])).json()["id"]
    assert wait_finished(client, second) == "Finished"


def test_too_many_active_imports(sandbox: Sandbox, client: httpx.Client, book_id: int) -> None:
    sandbox.imports.max_active = 2
    data = csv_bytes(["Email"], [["a@example.com"]])
    ids = [upload_json(client, book_id, data).json()["id"] for _ in range(2)]
    refused = upload_json(client, book_id, data)
    assert refused.status_code == 400
    assert refused.json()["message"].endswith("ERROR_IMPORT_TOOMANYACTIVEIMPORTS")
    wait_finished(client, ids[0])
    assert upload_json(client, book_id, data).status_code == 202


def test_file_size_limit(sandbox: Sandbox, client: httpx.Client, book_id: int) -> None:
    row = "someone@example.com\n"
    big = ("Email\n" + row * (10 * 1024 * 1024 // len(row) + 1)).encode()
    assert len(big) > 10 * 1024 * 1024
    response = upload_multipart(client, book_id, big)
    assert response.status_code == 400
    assert sandbox.account().imports == {}
    assert (
        upload_multipart(client, book_id, big[: 10 * 1024 * 1024 - 100].rsplit(b"\n", 1)[0]).status_code
        == 202
    )


def test_upload_without_filename_or_body(client: httpx.Client, book_id: int) -> None:
    data = csv_bytes(["Email"], [["a@example.com"]])
    assert upload_multipart(client, book_id, data, name=None).json() == {"message": "file must be valid"}
    assert client.post(f"/address-books/{book_id}/contacts/import", json={"FileName": "a.csv"}).json() == {
        "message": "file must be valid"
    }
    lower = client.post(
        f"/address-books/{book_id}/contacts/import",
        json={"filename": "a.csv", "data": "RW1haWwKYUBiLmNvbQo="},
    )
    assert lower.status_code == 202


def test_header_rules(sandbox: Sandbox, client: httpx.Client, account: Account, book_id: int) -> None:
    no_email = upload_json(client, book_id, csv_bytes(["Mail", "FIRSTNAME"], [["a@example.com", "A"]]))
    assert no_email.json()["message"].endswith("ERROR_NO_EMAIL_COLUMN")
    unknown = upload_json(client, book_id, csv_bytes(["Email", "SHOE_SIZE"], [["a@example.com", "9"]]))
    assert unknown.json()["message"] == "Data field 'SHOE_SIZE' does not exist. ERROR_DATAFIELD_NOTFOUND"
    sandbox.imports.unknown_columns = "ignore"
    ignored = upload_json(client, book_id, csv_bytes(["EMAIL", "SHOE_SIZE"], [["a@example.com", "9"]]))
    assert wait_finished(client, ignored.json()["id"]) == "Finished"
    assert account.find_contact("a@example.com").data is None


def test_typed_values_and_bom(client: httpx.Client, account: Account, book_id: int) -> None:
    for name, kind in (("AGE", "Numeric"), ("VIP", "Boolean"), ("JOINED", "Date")):
        account.create_data_field(name, kind)
    data = b"\xef\xbb\xbf" + csv_bytes(
        ["Email", "AGE", "VIP", "JOINED"], [["a@example.com", "42", "Yes", "2020-05-01"]]
    )
    import_id = upload_multipart(client, book_id, data).json()["id"]
    wait_finished(client, import_id)
    fields = {f["key"]: f["value"] for f in client.get("/contacts/a@example.com").json()["dataFields"]}
    assert (fields["AGE"], fields["VIP"], fields["JOINED"]) == (42, True, "2020-05-01T00:00:00Z")


def test_system_books_not_writable_and_unknown_import(client: httpx.Client, account: Account) -> None:
    data = csv_bytes(["Email"], [["a@example.com"]])
    for book in (account.test_book, account.all_contacts):
        refused = upload_json(client, book.id, data)
        assert refused.json() == {
            "message": "Address book cannot be written to via the API. ERROR_ADDRESSBOOK_NOTWRITABLE"
        }
    assert client.get("/contacts/import/2d2cac85-e292-4f35-988c-ddb5ba40dda0").json() == {
        "message": "Error: ERROR_IMPORT_NOT_FOUND"
    }
    assert upload_json(client, 424242, data).status_code == 404


def test_account_import_and_invalid_file(sandbox: Sandbox, client: httpx.Client, account: Account) -> None:
    import base64

    started = client.post(
        "/contacts/import",
        json={"FileName": "a.csv", "Data": base64.b64encode(b"Email\na@example.com\n").decode()},
    )
    assert started.status_code == 202
    sandbox.finish_imports()
    assert account.find_contact("a@example.com").id
    broken = client.post(
        "/contacts/import",
        json={"FileName": "a.csv", "Data": base64.b64encode(b"Email\n\xff\xfe\n").decode()},
    )
    assert wait_finished(client, broken.json()["id"]) == "InvalidFileFormat"


def test_large_import_is_fast(sandbox: Sandbox, client: httpx.Client, account: Account, book_id: int) -> None:
    rows = [[f"user{n}@example.com", f"Name{n}"] for n in range(50_000)]
    import_id = upload_multipart(client, book_id, csv_bytes(["Email", "FIRSTNAME"], rows)).json()["id"]
    assert wait_finished(client, import_id) == "Finished"
    assert account.book_size(account.books[book_id]) == 50_000


def test_broken_csv_applies_nothing(
    sandbox: Sandbox, client: httpx.Client, account: Account, book_id: int
) -> None:
    data = b'Email\na@example.com\n"' + b"x" * 140_000 + b'"\n'  # a field over the CSV field-size limit
    import_id = upload_json(client, book_id, data).json()["id"]
    assert wait_finished(client, import_id) == "InvalidFileFormat"
    assert account.member_emails(book_id) == set()
    assert sandbox.internal_errors == []
