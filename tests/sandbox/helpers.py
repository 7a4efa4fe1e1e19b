"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

import base64
import csv
import io

import httpx


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def upload_json(
    client: httpx.Client, book_id: int, data: bytes, name: str = "contacts.csv"
) -> httpx.Response:
    body = {"FileName": name, "Data": base64.b64encode(data).decode()}
    return client.post(f"/address-books/{book_id}/contacts/import", json=body)


def upload_multipart(
    client: httpx.Client, book_id: int, data: bytes, name: str | None = "contacts.csv"
) -> httpx.Response:
    if name is None:
        # a part without a filename in its Content-Disposition: what the API refuses with "file must be valid"
        body = b'--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + data + b"\r\n--XyZ--\r\n"
        return client.post(
            f"/address-books/{book_id}/contacts/import",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
        )
    return client.post(f"/address-books/{book_id}/contacts/import", files={"file": (name, data, "text/csv")})


def wait_finished(client: httpx.Client, import_id: str, limit: int = 10) -> str:
    status = "NotFinished"
    for _ in range(limit):
        status = client.get(f"/contacts/import/{import_id}").json()["status"]
        if status != "NotFinished":
            break
    return status


def parse_faults(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
