"""Reading users' event logs in chunks of columns: CSV, JSON Lines or Parquet.

:func:`read_columns` yields ``(lines, columns)`` chunks: ``lines`` the 1-based line of each row
(CSV and JSON Lines: the physical line, the CSV header being line 1; Parquet: the row number + 1)
and ``columns`` the requested columns as object arrays of text (``""`` when a JSON value is
missing). Rows that cannot be read are reported in ``reader.bad`` (:class:`~sim.io.csvrows.BadRow`)
and not yielded; the caller adds its own reasons with :meth:`EventLog.reject`. Memory is one chunk.

The format follows the file's suffix: ``.csv`` (with a header row; a regular file goes through
pandas' C reader, any other through the csv module, which reports each malformed row), ``.jsonl``
/ ``.ndjson`` (one JSON object a line), ``.parquet`` (pyarrow, by record batches).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sim.io.csvrows import BadInputError, BadRow, CsvRows, OnBadRow

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


class EventLog:
    """One event log file; see the module docstring."""

    def __init__(self, path: str | Path, on_bad_row: OnBadRow = "skip") -> None:
        self.path = Path(path)
        self.on_bad_row = on_bad_row
        self.format = FORMATS.get(self.path.suffix.lower())
        if self.format is None:
            raise BadInputError(f"{self.path}: unknown event log format {self.path.suffix!r}; allowed: .csv, "
                                ".jsonl (or .ndjson), .parquet")
        if not self.path.is_file():
            raise BadInputError(f"{self.path}: no such file")
        self.bad: list[BadRow] = []
        self.columns = self._header()

    def _header(self) -> list[str]:
        if self.format == "csv":
            rows = CsvRows(self.path, self.on_bad_row)
            rows.close()
            return rows.header
        if self.format == "parquet":
            import pyarrow.parquet as pq

            try:
                return list(pq.ParquetFile(self.path).schema_arrow.names)
            except Exception as exc:  # pyarrow raises many kinds on a damaged file
                raise BadInputError(f"{self.path}: not a readable Parquet file ({exc})") from None
        names: list[str] = []
        for _line, obj in self._json_objects(limit=1000):
            names += [k for k in obj if k not in names]
        return names

    def reject(self, line: int, reason: str) -> None:
        self.bad.append(BadRow(str(self.path), int(line), reason))
        if self.on_bad_row == "fail":
            raise BadInputError(f"{self.path}:{line}: {reason} (--on-bad-row fail)")

    def _json_objects(self, limit: int | None = None) -> Iterator[tuple[int, dict]]:
        with open(self.path, encoding="utf-8", errors="surrogateescape") as fh:
            for line, text in enumerate(fh, start=1):
                if limit is not None and line > limit:
                    return
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    if limit is None:
                        self.reject(line, f"not JSON ({exc.msg} at column {exc.colno})")
                    continue
                except (ValueError, RecursionError):  # nested too deep, or a number too long
                    if limit is None:
                        self.reject(line, "not JSON (nested too deep or a number too long)")
                    continue
                if not isinstance(obj, dict):
                    if limit is None:
                        self.reject(line, "not a JSON object")
                    continue
                yield line, obj

    def read_columns(self, names: list[str], chunk: int = 100_000) -> Iterator[tuple[np.ndarray, dict]]:
        """Chunks of ``(lines, {name: object array})`` of the named columns (see the module doc)."""
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise BadInputError(f"{self.path}: no column {', '.join(map(repr, missing))}; columns: "
                                f"{', '.join(self.columns)}")
        if self.format == "csv":
            yield from self._csv(names, chunk)
        elif self.format == "jsonl":
            yield from self._jsonl(names, chunk)
        else:
            yield from self._parquet(names, chunk)

    def _csv(self, names: list[str], chunk: int) -> Iterator[tuple[np.ndarray, dict]]:
        from sim.runs.replay import regular_structure

        rows = CsvRows(self.path, self.on_bad_row)
        at = [rows.header.index(n) for n in names]
        blanks = None if rows.needs_encoding_check else regular_structure(self.path, len(rows.header))
        if blanks is None:
            try:
                for lines, chunk_rows in rows.chunks(chunk):
                    yield np.asarray(lines), {n: np.array([r[i] for r in chunk_rows], dtype=object)
                                              for n, i in zip(names, at)}
            finally:
                self.bad += rows.bad
                rows.close()
            return
        rows.close()
        import pandas as pd

        before_blank = np.asarray(blanks, dtype=np.int64) - 2 - np.arange(len(blanks))
        done = 0
        for frame in pd.read_csv(self.path, header=0, usecols=at, dtype=str, na_filter=False,
                                 keep_default_na=False, skip_blank_lines=True, chunksize=chunk, engine="c",
                                 encoding="utf-8"):
            n = len(frame)
            idx = np.arange(done, done + n)
            line_numbers = idx + 2 + np.searchsorted(before_blank, idx, side="right")
            order = [list(frame.columns).index(rows.header[i]) for i in at]
            yield line_numbers, {name: frame.iloc[:, k].to_numpy(dtype=object) for name, k in zip(names, order)}
            done += n

    def _jsonl(self, names: list[str], chunk: int) -> Iterator[tuple[np.ndarray, dict]]:
        lines: list[int] = []
        cols: dict[str, list] = {n: [] for n in names}
        for line, obj in self._json_objects():
            lines.append(line)
            for n in names:
                value = obj.get(n)
                cols[n].append("" if value is None else str(value))
            if len(lines) >= chunk:
                yield np.asarray(lines), {n: np.array(v, dtype=object) for n, v in cols.items()}
                lines, cols = [], {n: [] for n in names}
        if lines:
            yield np.asarray(lines), {n: np.array(v, dtype=object) for n, v in cols.items()}

    def _parquet(self, names: list[str], chunk: int) -> Iterator[tuple[np.ndarray, dict]]:
        import pyarrow.parquet as pq

        done = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=chunk, columns=names):
            n = batch.num_rows
            out = {}
            for name in names:
                values = batch.column(name).to_pylist()
                out[name] = np.array(["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
                                      for v in values], dtype=object)
            yield np.arange(done + 1, done + n + 1), out
            done += n
