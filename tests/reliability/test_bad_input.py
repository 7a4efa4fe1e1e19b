"""SPEC §6.6: bad input gets a clear message, the documented exit code, no traceback (without -v), and nothing
half-written; invalid rows inside an otherwise good file are skipped and reported while the valid rows are kept.

Three families: files (malformed CSVs, bad encodings, NUL bytes, huge fields, bad and duplicate emails), the
command line (wrong options, unknown list/book/integration/campaign names), and broken API answers (HTML error
pages, truncated JSON, wrong types, empty bodies) injected between dotsync and the sandbox.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dotsync.db.types import metadata
from tests.support.world import World, emails, people

HEADER = "email,first_name\n"
GOOD = "a@example.com,Ann\nb@example.com,Bob\n"


@pytest.fixture
def world(world: World) -> World:
    """The shared world with five people connected to 'Customers'."""
    world.connect_list(people(5))
    return world


def _snapshot(world: World) -> dict[str, int]:
    """Row counts of every table except the run history (a failed run is recorded, by design)."""
    with world.app.engine().connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
            if t.name not in ("run", "run_step", "lock_holder")
        }


def _members(world: World, name: str = "customers") -> dict[str, str]:
    return {m["email"]: m["state"] for m in world.json("list", "members", name, "--state", "all")}


def _clean(result: Any) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "error: unexpected" not in output.lower(), output  # the translator's "this is a bug" line


def _write(tmp: Path, name: str, data: bytes) -> str:
    path = tmp / name
    path.write_bytes(data)
    return str(path)


# --- whole files that cannot be used: exit 2, nothing written --------------------------------------------
BAD_FILES: dict[str, tuple[bytes | None, str]] = {
    "missing file": (None, r"does not exist"),
    "empty file": (b"", r"empty"),
    "no email column": (b"name,city\nAnn,Paris\n", r"email"),
    "email column twice": (b"email,email\na@example.com,b@example.com\n", r"more than once"),
    "latin-1 bytes": (
        HEADER.encode() + GOOD.encode() + "c@example.com,Zo\xe9\n".encode("latin-1"),
        r"UTF-8|encod",
    ),
    "utf-16 without --encoding": (("email\n" + "a@example.com\n").encode("utf-16"), r"UTF-8|encod|NUL|email"),
    "binary garbage": (bytes(range(256)) * 40, r"UTF-8|encod|NUL|email|header"),
    "non-UTF-8 after 2000 good rows": (
        HEADER.encode()
        + "".join(f"ok{i}@example.com,N{i}\n" for i in range(2000)).encode()
        + b"bad@example.com,\xff\xfe\n",
        r"UTF-8|encod",
    ),
}


@pytest.mark.parametrize("command", ["create", "import"])
def test_unusable_file_writes_nothing(world: World, tmp_path: Path, command: str, figures) -> None:
    # One world for every file (each case must leave it untouched, which is what is checked).
    for case, (data, message) in sorted(BAD_FILES.items()):
        path = str(tmp_path / "missing.csv") if data is None else _write(tmp_path, "bad.csv", data)
        before, members = _snapshot(world), _members(world)
        if command == "create":
            args = ("list", "create", "newlist", "--csv", path)
        else:
            args = ("list", "import", "customers", path)
        result = world.run(*args, expect=None)
        assert result.exit_code == 2, (case, result.exit_code, result.stderr)
        _clean(result)
        assert re.search(message, result.stderr, re.I), (case, result.stderr)
        assert len([line for line in result.stderr.splitlines() if line.startswith("Error")]) <= 1, case
        assert _snapshot(world) == before, case
        assert _members(world) == members, case
        _count(figures, "file")


# --- bad rows inside a good file: skipped and reported with reasons, valid rows kept -----------------------
BAD_ROWS: dict[str, tuple[str, int]] = {
    "invalid emails": (HEADER + GOOD + "not-an-email,X\n@example.com,Y\nc@@example.com,Z\n", 3),
    "duplicate emails (case variants)": (HEADER + GOOD + "A@Example.com,Again\nb@example.com,Bob2\n", 2),
    "NUL byte in a field": (HEADER + GOOD + "c@example.com,Ev\x00il\n", 1),
    "huge field (1 MB)": (HEADER + GOOD + "c@example.com," + "x" * 1_000_000 + "\n", 1),
    "wrong number of columns": (HEADER + GOOD + "c@example.com,Cid,extra,more\n", 1),
    "blank email": (HEADER + GOOD + ",Nobody\n", 1),
    "unterminated quote at the end": (HEADER + GOOD + 'c@example.com,"Open\n', 1),
}


def test_bad_rows_are_skipped_and_reported(world: World, tmp_path: Path, figures) -> None:
    for n, (case, (content, bad)) in enumerate(sorted(BAD_ROWS.items())):
        path = _write(tmp_path, "rows.csv", content.encode())
        rejects = tmp_path / "rejects.csv"
        name = f"rows{n}"
        result = world.run("list", "create", name, "--csv", path, "--rejects", str(rejects), "--json")
        _clean(result)
        load = json.loads(result.stdout)["load"]
        members = _members(world, name)
        assert {"a@example.com", "b@example.com"} <= set(members), (case, members)
        rejected = rejects.read_text(encoding="utf-8").splitlines()[1:]
        assert len(rejected) >= bad, (case, rejected)
        assert all(line.strip() for line in rejected), (case, rejected)
        assert load["invalid"] + load["duplicates"] == bad == len(load["rejects"]), (case, load)
        assert all(r["reason"] for r in load["rejects"]), (case, load)
        assert "\x00" not in json.dumps(members), case
        _count(figures, "row")


# --- the command line: wrong options and unknown names ------------------------------------------------------
CLI_CASES: list[tuple[tuple[str, ...], int, str]] = [
    (("no-such-command",), 2, r"No such command"),
    (("list", "ls", "--no-such-option"), 2, r"No such option"),
    (
        ("integration", "create", "--name", "x", "--username", "u", "--password", "secret123"),
        2,
        r"No such option",
    ),
    (("list", "add", "nolist", "a@example.com"), 2, r"nolist"),
    (("list", "add", "customers", "not-an-email"), 2, r"email"),
    (("list", "add", "customers", "a@example.com", "--field", "novalue"), 2, r"K=V|="),
    (("list", "remove", "nolist", "a@example.com"), 2, r"nolist"),
    (("list", "members", "customers", "--state", "bogus"), 2, r"bogus"),
    (("list", "show", "nolist"), 2, r"nolist"),
    (("list", "create", "x", "--query", "SELECT 1"), 2, r"source"),
    (
        ("list", "create", "x", "--csv", "/dev/null", "--query", "SELECT 1", "--source", "sqlite://"),
        2,
        r"csv|query",
    ),
    (("list", "create", "customers"), 2, r"customers"),
    (("connect", "nolist", "Customers"), 2, r"nolist"),
    (("connect", "customers", "No Such Book"), 2, r"No Such Book"),
    (("connection", "update", "customers", "--map", "oops"), 2, r"oops|FIELD=DATAFIELD|="),
    (("disconnect", "nolist"), 2, r"nolist"),
    (("connection", "show", "nolist"), 2, r"nolist"),
    (("dotmailer", "export", "--integration", "nope"), 2, r"nope"),
    (("dotmailer", "export", "--confirm-mass-change", "nolist"), 2, r"nolist"),
    (("integration", "sync", "--integration", "nope"), 2, r"nope"),
    (("integration", "sync", "--connector", "bogus"), 2, r"bogus"),
    (("integration", "show", "nope"), 2, r"nope"),
    (("integration", "check", "nope"), 2, r"nope"),
    (("sync", "nolist"), 2, r"nolist"),
    (("books", "list", "--integration", "nope"), 2, r"nope"),
    (("books", "create", "X", "--visibility", "secret"), 2, r"secret"),
    (("campaigns", "show", "no campaign"), 2, r"no campaign"),
    (("datafields", "list", "--integration", "nope"), 2, r"nope"),
    (("runs", "--limit", "0"), 2, r"limit|0"),
    (("runs", "--integration", "nope"), 2, r"nope"),
]


def test_bad_command_lines(world: World, figures) -> None:
    before = _snapshot(world)
    for args, code, message in CLI_CASES:
        result = world.run(*args, expect=None)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        _clean(result)
        if code:
            assert re.search(message, result.stderr, re.I), (args, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) <= 4, (args, lines)
            assert sum(line.startswith("Error") for line in lines) == 1, (args, lines)
        assert _snapshot(world) == before, args
        _count(figures, "command line")


# --- broken API answers --------------------------------------------------------------------------------------
class Broken(httpx.BaseTransport):
    """Answers calls whose path matches ``pattern`` with ``answer`` (after the sandbox acted, if ``apply``)."""

    def __init__(
        self, inner: httpx.BaseTransport, pattern: str, answer: Callable[[], httpx.Response], apply: bool
    ):
        self.inner, self.pattern, self.answer, self.apply = inner, re.compile(pattern), answer, apply
        self.hits = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.pattern.search(request.url.path):
            return self.inner.handle_request(request)
        self.hits += 1
        if self.apply:
            self.inner.handle_request(request).close()
        return self.answer()


def _html(status: int = 200) -> httpx.Response:
    return httpx.Response(status, html="<html><body><h1>Service Unavailable</h1></body></html>")


ANSWERS: dict[str, Callable[[], httpx.Response]] = {
    "HTML page with 200": _html,
    "HTML page with 502": lambda: _html(502),
    "truncated JSON": lambda: httpx.Response(
        200, content=b'{"Id": 1, "Name": "Acc', headers={"content-type": "application/json"}
    ),
    "empty body": lambda: httpx.Response(200, content=b"", headers={"content-type": "application/json"}),
    "wrong types": lambda: httpx.Response(200, json={"id": "not-a-number", "status": ["x"], "properties": 7}),
    "array instead of object": lambda: httpx.Response(200, json=[1, 2, 3]),
    "object instead of array": lambda: httpx.Response(200, json={"message": "hello"}),
    "null": lambda: httpx.Response(200, json=None),
}
ENDPOINTS = {
    "account-info": (r"/v2/account-info$", ("dotmailer", "export")),
    "address-books": (r"/v2/address-books$", ("integration", "sync", "--connector", "address_book")),
    "upload": (r"/contacts/import$", ("dotmailer", "export")),
    "import status": (r"/v2/contacts/import/[^/]+$", ("dotmailer", "export")),
    "faults report": (r"/report-faults$", ("dotmailer", "export")),
}


# Every kind of broken answer where it matters most (the first call, and the upload whose answer tells the
# import id); the commonest kinds on the other endpoints dotsync depends on.
COMMON = ("HTML page with 200", "truncated JSON", "wrong types", "empty body")
API_CASES = [
    (endpoint, answer)
    for endpoint in sorted(ENDPOINTS)
    for answer in sorted(ANSWERS)
    if endpoint in ("account-info", "upload") or answer in COMMON
]


@pytest.mark.parametrize(("endpoint", "answer"), API_CASES, ids=[f"{e}-{a}" for e, a in API_CASES])
def test_broken_api_answers(world: World, endpoint: str, answer: str, figures) -> None:
    pattern, command = ENDPOINTS[endpoint]
    rows = people(5)
    if endpoint in ("import status", "faults report"):
        world.tick()
        world.run("dotmailer", "export")  # an upload to settle
    if endpoint == "faults report":
        world.tick()
        world.run("dotmailer", "export")  # NotFinished once; the next poll finishes it
    sandbox_transport = world.app.transport
    assert sandbox_transport is not None
    broken = Broken(sandbox_transport, pattern, ANSWERS[answer], apply=endpoint != "account-info")
    world.app.transport = broken
    world.tick()
    result = world.run(*command, expect=None)
    _clean(result)
    if broken.hits:
        assert result.exit_code in (0, 1, 3), (result.exit_code, result.stdout, result.stderr)
        output = result.stdout + result.stderr
        if result.exit_code:
            assert "Dotmailer" in output or "import" in output, output
    world.app.transport = sandbox_transport
    # Nothing half-written: the next normal cycles converge, with at most one re-upload per email.
    world.settle(3)
    assert world.book_emails("Customers") == emails(rows)
    assert max(world.upload_count(e) for e in emails(rows)) <= 2
    _count(figures, "API answer")


def _count(figures: dict[str, Any], kind: str) -> None:
    tried = figures.setdefault("bad inputs tried", {})
    tried[kind] = tried.get(kind, 0) + 1
