"""Data fields: defaults, create rules, delete rules."""

from __future__ import annotations

import httpx
import pytest


def test_default_fields(client: httpx.Client) -> None:
    fields = client.get("/data-fields").json()
    assert [f["name"] for f in fields] == ["FIRSTNAME", "LASTNAME", "FULLNAME", "GENDER", "POSTCODE"]
    assert set(fields[0]) == {"name", "type", "visibility", "defaultValue"}


def test_create_and_delete(client: httpx.Client) -> None:
    created = client.post(
        "/data-fields",
        json={"Name": "Loyalty_pts", "Type": "Numeric", "Visibility": "Public", "DefaultValue": 0},
    )
    assert created.status_code == 201
    assert created.json() == {
        "name": "LOYALTY_PTS",
        "type": "Numeric",
        "visibility": "Public",
        "defaultValue": 0,
    }
    dup = client.post("/data-fields", json={"name": "loyalty_pts", "type": "String"})
    assert dup.json() == {"message": "Field already exists. ERROR_NON_UNIQUE_DATAFIELD"}
    deleted = client.delete("/data-fields/LOYALTY_PTS")
    assert deleted.json() == {"result": True, "dependencies": []}
    assert client.delete("/data-fields/LOYALTY_PTS").status_code == 404
    assert client.delete("/data-fields/FIRSTNAME").status_code == 404


@pytest.mark.parametrize("name", ["", "A" * 21, "has space", "dot.ted", None])
def test_invalid_names(client: httpx.Client, name: str | None) -> None:
    response = client.post("/data-fields", json={"Name": name, "Type": "String"})
    assert response.status_code == 400
    assert response.json()["message"].endswith("ERROR_DATAFIELD_INVALID")


def test_twenty_characters_is_fine(client: httpx.Client) -> None:
    assert client.post("/data-fields", json={"name": "A-b_" + "C" * 16}).status_code == 201
    assert client.post("/data-fields", json={"name": "X", "type": "Colour"}).status_code == 400
