"""Reading users' CSV files row by row, reporting malformed rows with file and line number.

:class:`CsvRows` iterates the data rows of one file as ``(line, values)`` where ``line`` is the
1-based physical line on which the row starts (the header is line 1). Rows that cannot be used are
not yielded; each becomes a :class:`BadRow` in :attr:`CsvRows.bad` with a reason:

* ``wrong number of fields (got 3, header has 5)``;
* ``not UTF-8 (byte 0xe9)``: bytes that are not valid UTF-8 anywhere in the row;
* ``NUL byte in field 'page'``: a NUL character (never valid text in these files);
* ``a field is longer than 131,072 characters``: the csv module's field limit
  (``csv.field_size_limit()``), so that memory stays bounded.

Callers add their own reasons (a blank id, an unreadable time) with :meth:`CsvRows.reject`. With
``on_bad_row="fail"`` the first bad row raises :class:`BadInputError`; with ``"skip"`` reading goes
on and the bad rows are reported at the end. Memory is one row at a time.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_SURROGATE = re.compile("[\udc80-\udcff]")

OnBadRow = Literal["skip", "fail"]

# Event and record times are epoch seconds from 1970-01-01 to 2200-01-01 UTC: outside, a time is a
# mistake (milliseconds, 1e300) that would make every later event late.
T_MIN, T_MAX = 0.0, 7_258_118_400.0
TIME_RANGE = "1970-01-01 .. 2200-01-01 (epoch seconds 0 to 7258118400; milliseconds are not allowed)"


def _scan(path: Path, block: int = 1 << 20) -> tuple[bool, bool]:
    """Whether the whole file is valid UTF-8, and whether it has a NUL byte (one pass in C; a
    file that is UTF-8 without NUL needs no check of each row)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, nul = True, False
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            nul = nul or b"\x00" in chunk
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if nul and not utf8:
                break
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    return utf8, nul


def _is_utf8(path: Path, block: int = 1 << 20) -> bool:
    """Whether the whole file is valid UTF-8."""
    return _scan(path, block)[0]


class BadInputError(ValueError):
    """An input file that cannot be read (or a bad row under ``--on-bad-row fail``)."""


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class CsvRows:
    """The data rows of one CSV file with a header row; see the module docstring."""

    def __init__(self, path: str | Path, on_bad_row: OnBadRow = "skip") -> None:
        self.path = Path(path)
        self.on_bad_row = on_bad_row
        self.bad: list[BadRow] = []
        self.rows = 0
        try:
            self._fh = open(self.path, encoding="utf-8", errors="surrogateescape", newline="")
        except FileNotFoundError:
            raise BadInputError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise BadInputError(f"{self.path}: is a directory, not a CSV file") from None
        except OSError as exc:
            raise BadInputError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None
        self._reader = csv.reader(self._fh)
        try:
            header = next(self._reader)
        except StopIteration:
            self._fh.close()
            raise BadInputError(f"{self.path}: empty file (a header row is required)") from None
        except csv.Error as exc:
            self._fh.close()
            raise BadInputError(f"{self.path}:1: unreadable header ({self._csv_problem(exc)})") from None
        except OSError as exc:
            self._fh.close()
            raise BadInputError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None
        header = [h.strip().lstrip("\ufeff") for h in header]
        bad_header = self._encoding_problem(header) or self._nul_problem(header, header)
        if bad_header:
            self._fh.close()
            raise BadInputError(f"{self.path}:1: header {bad_header}")
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            self._fh.close()
            raise BadInputError(f"{self.path}:1: repeated column names: {', '.join(dup)}")
        self.header = header
        utf8, nul = _scan(self.path)
        self._check_encoding = not utf8
        self._check_nul = nul

    @property
    def needs_encoding_check(self) -> bool:
        """Whether the file has bytes that are not UTF-8 or NUL bytes (rows are then checked one
        by one)."""
        return self._check_encoding or self._check_nul

    @staticmethod
    def _nul_problem(values: list[str], header: list[str]) -> str | None:
        for i, v in enumerate(values):
            if "\x00" in v:
                name = header[i] if i < len(header) else f"#{i + 1}"
                return f"NUL byte in field {name!r}"
        return None

    @staticmethod
    def _csv_problem(exc: csv.Error) -> str:
        text = str(exc)
        if "field limit" in text:
            return f"a field is longer than {csv.field_size_limit():,} characters"
        return text

    def close(self) -> None:
        """Stop reading (bad rows can still be recorded with :meth:`reject`)."""
        self._fh.close()

    @staticmethod
    def _encoding_problem(values: list[str]) -> str | None:
        for v in values:
            m = _SURROGATE.search(v)
            if m:
                return f"not UTF-8 (byte 0x{ord(m.group()) - 0xDC00:02x})"
        return None

    def reject(self, line: int, reason: str) -> None:
        """Record a bad row (raises under ``on_bad_row="fail"``)."""
        bad = BadRow(str(self.path), line, reason)
        self.bad.append(bad)
        if self.on_bad_row == "fail":
            self.close()
            raise BadInputError(f"{bad} (--on-bad-row fail)")

    def chunks(self, size: int) -> Iterator[tuple[list[int], list[list[str]]]]:
        """The good rows in chunks of up to ``size``: (line numbers, rows). Faster than iterating
        row by row; bad rows are handled exactly as there."""
        lines: list[int] = []
        rows: list[list[str]] = []
        for line, values in self._rows():
            lines.append(line)
            rows.append(values)
            if len(rows) >= size:
                yield lines, rows
                lines, rows = [], []
        if rows:
            yield lines, rows

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows()

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        reader = self._reader
        check = self._check_encoding or self._check_nul
        try:
            while True:
                line = reader.line_num + 1
                try:
                    for values in reader:
                        if len(values) == width and not check:
                            self.rows += 1
                            yield line, values
                            line = reader.line_num + 1
                            continue
                        break
                    else:
                        return
                except csv.Error as exc:
                    self.reject(line, f"unreadable row ({self._csv_problem(exc)})")
                    continue
                if not values:
                    continue
                if len(values) != width:
                    self.reject(line, f"wrong number of fields (got {len(values)}, header has {width})")
                    continue
                if self._check_encoding:
                    problem = self._encoding_problem(values)
                    if problem:
                        self.reject(line, problem)
                        continue
                if self._check_nul:
                    problem = self._nul_problem(values, self.header)
                    if problem:
                        self.reject(line, problem)
                        continue
                self.rows += 1
                yield line, values
        finally:
            self._fh.close()
