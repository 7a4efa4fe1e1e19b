"""Reading member CSV files as real files come: streamed, with per-row problems reported instead of fatal.

Handles UTF-8 with or without a BOM (or any encoding the user names), CRLF or LF line ends, quoted fields with
embedded commas and newlines. A file-level problem (missing, empty, undecodable, bad header) raises
:class:`~dotsync.errors.BadInputError`; a row-level problem (wrong number of columns, a NUL character, an
over-long field, broken quoting) is yielded as a rejected row with its line number and reason, and reading
goes on. Rows are never held in memory beyond the one being read.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from dotsync.errors import BadInputError

MAX_FIELD_LENGTH = 64 * 1024  # characters; longer values are not plausible member data
DEFAULT_ENCODING = "utf-8"


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One record: its first physical line (the header is line 1), its values, and why it is rejected if so."""

    line: int
    values: list[str]
    problem: str | None = None


def check_encoding(encoding: str) -> str:
    """Return the codec name to read with (UTF-8 reads a BOM away); BadInputError for an unknown encoding."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise BadInputError(f"unknown encoding {encoding!r} (try utf-8, latin-1, cp1252 or utf-16)") from exc
    return "utf-8-sig" if name == "utf-8" else name


class CsvFile:
    """A CSV file opened for streaming: ``header`` is read on entry; iterate for :class:`CsvRow` records.

    Use as a context manager. ``bytes_read`` and ``size`` give progress without counting rows first.
    """

    def __init__(self, path: Path, *, encoding: str = DEFAULT_ENCODING) -> None:
        self.path = Path(path)
        self.encoding = check_encoding(encoding)
        self.header: list[str] = []
        self.size = 0
        self._binary: BinaryIO | None = None
        self._text: io.TextIOWrapper | None = None
        self._reader: Iterator[list[str]] | None = None

    def __enter__(self) -> CsvFile:
        try:
            self._binary = open(self.path, "rb")
            self.size = self.path.stat().st_size
        except IsADirectoryError as exc:
            raise BadInputError(f"{self.path} is a directory, not a CSV file") from exc
        except OSError as exc:
            raise BadInputError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        self._text = io.TextIOWrapper(self._binary, encoding=self.encoding, errors="strict", newline="")
        self._reader = csv.reader(self._text, strict=True)
        try:
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._text is not None:
            self._text.close()  # closes the binary file too
            self._text = None
        elif self._binary is not None:
            self._binary.close()
        self._binary = None

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has got (in bytes; read-ahead makes it slightly early)."""
        if self._binary is None or self._binary.closed:
            return self.size
        return self._binary.tell()

    def _read_header(self) -> list[str]:
        assert self._reader is not None
        while True:
            try:
                row = self._next_record()
            except StopIteration:
                raise BadInputError(
                    f"{self.path} is empty: expected a header line naming the columns"
                ) from None
            except csv.Error as exc:
                raise BadInputError(f"{self.path}: cannot read the header line: {exc}") from exc
            if row and any(v.strip() for v in row):
                break
        header = [name.strip().lstrip("\ufeff").strip() for name in row]
        for index, name in enumerate(header, start=1):
            if not name:
                raise BadInputError(
                    f"{self.path}: column {index} of the header has no name; every column needs one"
                )
        seen: set[str] = set()
        for name in header:
            if name.lower() in seen:
                raise BadInputError(f"{self.path}: the header names column {name!r} more than once")
            seen.add(name.lower())
        return header

    def _next_record(self) -> list[str]:
        assert self._reader is not None
        try:
            return next(self._reader)
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc) from exc

    def _decode_error(self, exc: UnicodeDecodeError) -> BadInputError:
        line, bad = locate_decode_error(self.path, self.encoding)
        where = f" at line {line}" if line else ""
        what = f" (bytes {bad!r})" if bad else f" ({exc.reason})"
        return BadInputError(
            f"{self.path}: cannot decode the file as {self.encoding.removesuffix('-sig')}{where}{what}; "
            "if the file uses another encoding, name it with --encoding, e.g. --encoding latin-1 or "
            "--encoding cp1252"
        )

    def __iter__(self) -> Iterator[CsvRow]:
        reader = self._reader
        assert reader is not None
        width = len(self.header)
        last_line = reader.line_num  # type: ignore[attr-defined]
        while True:
            try:
                values = self._next_record()
            except StopIteration:
                return
            except csv.Error as exc:
                start = last_line + 1
                last_line = reader.line_num  # type: ignore[attr-defined]
                yield CsvRow(start, [], f"malformed CSV: {exc}")
                continue
            start = last_line + 1
            last_line = reader.line_num  # type: ignore[attr-defined]
            if not values:  # a blank line
                continue
            if len(values) != width:
                if len(values) == 1 and not values[0].strip():
                    continue  # a line of only spaces
                yield CsvRow(start, values, f"expected {width} columns, found {len(values)}")
                continue
            joined = "".join(values)
            if "\x00" in joined:
                yield CsvRow(start, values, "contains a NUL character")
                continue
            if len(joined) > MAX_FIELD_LENGTH:
                long_column = next(
                    (name for name, v in zip(self.header, values, strict=True) if len(v) > MAX_FIELD_LENGTH),
                    None,
                )
                if long_column is not None:
                    yield CsvRow(
                        start, values, f"column {long_column!r} is longer than {MAX_FIELD_LENGTH} characters"
                    )
                    continue
            yield CsvRow(start, values)


def locate_decode_error(path: Path, encoding: str) -> tuple[int | None, bytes | None]:
    """Find the first undecodable bytes of a file: (line number, the bytes), or (None, None) if none found.

    Only called after decoding failed, so the normal path pays nothing for it. Lines are counted on the decoded
    text, so the number is right for any encoding that decodes line by line.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines = 0
    try:
        with open(path, "rb") as handle:
            for chunk in handle:  # split on b"\n": whole lines for ASCII-compatible encodings
                try:
                    newlines += decoder.decode(chunk).count("\n")
                except UnicodeDecodeError as exc:
                    return newlines + 1, exc.object[exc.start : exc.end]
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return newlines + 1, exc.object[exc.start : exc.end]
    except OSError:
        return None, None
    return None, None
