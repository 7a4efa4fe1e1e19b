"""Unit tests for CSV reading: encodings, line ends, quoting, per-row problems and file-level errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dotsync.errors import BadInputError
from dotsync.lists.csvfile import MAX_FIELD_LENGTH, CsvFile, CsvRow, check_encoding, locate_decode_error


def read(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[CsvRow]]:
    with CsvFile(path, encoding=encoding) as csv_file:
        return csv_file.header, list(csv_file)


def write(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bom_crlf_and_quoted_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b'\xef\xbb\xbf"Email", Name ,Note\r\n'
        b'a@x.com,"Lee, Ann","line one\r\nline two"\r\n'
        b"\r\n"
        b'b@x.com,Bob,"say ""hi"""\r\n',
    )
    header, rows = read(path)
    assert header == ["Email", "Name", "Note"]
    assert rows == [
        CsvRow(2, ["a@x.com", "Lee, Ann", "line one\r\nline two"]),
        CsvRow(5, ["b@x.com", "Bob", 'say "hi"']),
    ]


def test_lf_without_bom_and_no_final_newline(tmp_path: Path) -> None:
    header, rows = read(write(tmp_path, b"email,n\na@x.com,1\nb@x.com,2"))
    assert header == ["email", "n"]
    assert [r.values for r in rows] == [["a@x.com", "1"], ["b@x.com", "2"]]
    assert all(r.problem is None for r in rows)


def test_row_problems_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    long_value = "x" * (MAX_FIELD_LENGTH + 1)
    data = (
        "email,name\n"
        "a@x.com,Ann\n"
        "b@x.com\n"
        "c@x.com,Cy,extra\n"
        "d@x.com,D\x00n\n"
        f"e@x.com,{long_value}\n"
        "f@x.com,Fay\n"
    ).encode()
    _header, rows = read(write(tmp_path, data))
    assert [(r.line, r.problem) for r in rows] == [
        (2, None),
        (3, "expected 2 columns, found 1"),
        (4, "expected 2 columns, found 3"),
        (5, "contains a NUL character"),
        (6, f"column 'name' is longer than {MAX_FIELD_LENGTH} characters"),
        (7, None),
    ]


def test_broken_quoting_rejects_the_row(tmp_path: Path) -> None:
    _header, rows = read(write(tmp_path, b'email,name\na@x.com,"Ann"x\nb@x.com,Bob\n'))
    assert rows[0].line == 2
    assert rows[0].problem is not None
    assert rows[0].problem.startswith("malformed CSV")
    assert rows[1] == CsvRow(3, ["b@x.com", "Bob"])


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="is empty"):
        read(write(tmp_path, b""))
    with pytest.raises(BadInputError, match="is empty"):
        read(write(tmp_path, b"\r\n\n"))


def test_header_only_gives_no_rows(tmp_path: Path) -> None:
    assert read(write(tmp_path, b"email,name\r\n")) == (["email", "name"], [])


def test_bad_headers(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="column 2 of the header has no name"):
        read(write(tmp_path, b"email,,name\n"))
    with pytest.raises(BadInputError, match="more than once"):
        read(write(tmp_path, b"email,Name,name\n"))


def test_undecodable_bytes_name_the_line_and_suggest_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, b"email,name\na@x.com,Ann\nb@x.com,Bob\nc@x.com,Ren\xe9e\n")
    with pytest.raises(BadInputError) as caught:
        read(path)
    message = caught.value.message
    assert "line 4" in message
    assert "--encoding" in message
    assert "\\xe9" in message
    assert locate_decode_error(path, "utf-8-sig") == (4, b"\xe9")


def test_explicit_encodings(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\nc@x.com,Renée\n".encode("latin-1"))
    assert read(path, "latin-1")[1][0].values == ["c@x.com", "Renée"]
    utf16 = write(tmp_path, "email,name\r\nd@x.com,Zoë\r\n".encode("utf-16"), "u16.csv")
    assert read(utf16, "utf-16") == (["email", "name"], [CsvRow(2, ["d@x.com", "Zoë"])])


def test_encoding_names() -> None:
    assert check_encoding("UTF8") == "utf-8-sig"
    assert check_encoding("Latin-1") == "iso8859-1"
    with pytest.raises(BadInputError, match="unknown encoding"):
        check_encoding("klingon")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read"):
        read(tmp_path / "nope.csv")
    with pytest.raises(BadInputError, match="is a directory"):
        read(tmp_path)


def test_streams_without_reading_everything(tmp_path: Path) -> None:
    lines = ["email,n"] + [f"u{i}@x.com,{i}" for i in range(50_000)]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    with CsvFile(path) as csv_file:
        iterator = iter(csv_file)
        first = next(iterator)
        assert first.values == ["u0@x.com", "0"]
        assert csv_file.bytes_read < csv_file.size / 4
        assert sum(1 for _ in iterator) == 49_999
