"""Trace-driven runs: a real event log drives the twin instead of the synthetic visitors.

``sim run SCENARIO --events FILE --map time=ts --map user=user_id --map page=url`` (or
``sim.run(scenario, visitors=TraceLog(...))``) reads the log in chunks (CSV, JSON Lines, Parquet:
:mod:`sim.io.event_logs`) and hands its rows to the Ingestion API as clicks at their own times.
Mapped names (``mapping``: twin name -> the log's column):

* ``time`` (required): epoch seconds or ISO 8601 (naive = UTC). The log's first time is t = 0;
  ``speedup`` divides the time between events (2: twice the rate).
* ``user`` (required): any identifier of the device or visitor (a cookie, a user id): one cookie
  of the twin per distinct value.
* ``page`` (required): the page or event name. The twin's names (``home``, ``product``,
  ``pricing``, ``blog``, ``docs``, ``contact``, ``careers``) keep their meaning, ``login`` is a
  login, anything else a plain page view (``other``).
* ``email``, ``contact`` (optional): the identifiers a login carries. The first ``prospects``
  distinct e-mails (or contact ids) are the CRM's contacts; later ones link profiles that no CRM
  contact backs.

The true person behind a row, for the intents, is the person of the e-mail or contact id its
user logged in with (at that row or before); a user who never logs in is an anonymous visitor.

``copies`` superposes that many copies of the log, copy ``k`` shifted by ``k x shift`` seconds
and with users and identifiers of its own: "twice the traffic" is ``copies=2`` (with ``shift=0``
the copies coincide in time; a shift spreads them). The log may be slightly out of time order:
rows are reordered within ``max_disorder`` seconds; a row further out of order, or with no usable
time or user, is rejected with its line number and reason (``rows_rejected`` in the counts, so
clicks sent + rows rejected + rows due after the horizon = rows read, over all copies). The
horizon defaults to the log's span plus an hour for its last events to get through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.domain.events import LOGIN, PAGE_CODE, PAGE_VIEW, empty_clicks
from sim.io.csvrows import T_MAX, T_MIN, OnBadRow
from sim.io.event_logs import EventLog

REQUIRED = ("time", "user", "page")
OPTIONAL = ("email", "contact")
LOGIN_PAGE = "login"


@dataclass
class TraceLog:
    """An event log and how to read it; call it with ``(ctx, population)`` to get the source."""

    path: str | Path
    mapping: dict[str, str] = field(default_factory=dict)
    speedup: float = 1.0
    copies: int = 1
    shift: float = 0.0
    max_disorder: float = 300.0
    on_bad_row: OnBadRow = "skip"
    chunk: int = 100_000

    def __post_init__(self) -> None:
        self.mapping = {**{k: k for k in REQUIRED}, **self.mapping}
        unknown = sorted(set(self.mapping) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise ValueError(f"--map: {', '.join(unknown)} is not a mapped name; allowed: "
                             f"{', '.join(REQUIRED + OPTIONAL)}")
        if not (0 < self.speedup <= 1e6) or not (1 <= self.copies <= 1000) or not (0 <= self.shift <= 1e9) \
                or not (0 <= self.max_disorder <= 86400):
            raise ValueError("--speedup in (0, 1e6], --copies in 1..1000, --shift in [0, 1e9] s, --max-disorder "
                             "in [0, 86400] s")
        self.log = EventLog(self.path, self.on_bad_row)
        self._span: tuple[float, float] | None = None
        self.rows = 0
        missing = [f"{k}={c}" for k, c in self.mapping.items() if c not in self.log.columns]
        if missing:
            raise ValueError(f"{self.path}: no column for {', '.join(missing)} (see --map); columns: "
                             f"{', '.join(self.log.columns)}")

    def span(self) -> tuple[float, float]:
        """The first and last usable time of the log (epoch seconds), from one pass over it (kept)."""
        from sim.runs.replay import parse_times

        if self._span is not None:
            return self._span
        lo, hi, rows = np.inf, -np.inf, 0
        probe = EventLog(self.path, "skip")
        for _, cols in probe.read_columns([self.mapping["time"]], self.chunk):
            rows += len(cols[self.mapping["time"]])
            t = parse_times(cols[self.mapping["time"]])
            t = t[(t >= T_MIN) & (t < T_MAX)]
            if len(t):
                lo, hi = min(lo, float(t.min())), max(hi, float(t.max()))
        if not np.isfinite(lo):
            raise ValueError(f"{self.path}: no row with a usable time in column {self.mapping['time']!r}")
        self._span, self.rows = (lo, hi), rows
        return self._span

    def expected_clicks(self) -> float:
        """Clicks a run of the whole log sends (its rows, over all copies): for the size estimate."""
        self.span()
        return float(self.rows * self.copies)

    def horizon_s(self, tail: float = 3600.0) -> float:
        """The run's horizon that covers the whole log: its span (sped up), the copies' shifts, and
        ``tail`` seconds for its last events to get through the pipeline (micro-batches, retries)."""
        lo, hi = self.span()
        return max((hi - lo) / self.speedup + (self.copies - 1) * self.shift, 0.0) + tail

    def __call__(self, ctx, population) -> TraceClicks:
        return TraceClicks(self, population)


class _Copy:
    """One copy of the log, read lazily: parsed rows, in time order, not handed over yet."""

    def __init__(self, trace: TraceLog, k: int, t0: float, ids: _Identities) -> None:
        self.trace, self.k, self.t0, self.ids = trace, k, t0, ids
        self.log = EventLog(trace.path, trace.on_bad_row)
        names = [trace.mapping[n] for n in (*REQUIRED, *OPTIONAL) if n in trace.mapping]
        self.names = names
        self.chunks = self.log.read_columns(names, trace.chunk)
        self.pending = empty_clicks()
        self.read_until = -np.inf  # every row with t below this has been parsed
        self.done = False
        self.rows = 0  # rows the reader yielded
        self.parse_rejected = 0
        self.latest = -np.inf

    def _parse(self) -> None:
        from sim.runs.replay import parse_times

        before = len(self.log.bad)
        try:
            lines, cols = next(self.chunks)
        except StopIteration:
            self.done = True
            self.read_until = np.inf
            return
        m, n = self.trace.mapping, len(lines)
        self.rows += n
        epoch = parse_times(cols[m["time"]])
        user = cols[m["user"]]
        bad = np.zeros(n, dtype=bool)
        for i in np.flatnonzero(~np.isfinite(epoch) | (epoch < T_MIN) | (epoch >= T_MAX)):
            self.log.reject(int(lines[i]), f"time {cols[m['time']][i]!r} is not epoch seconds or ISO 8601 in the "
                                           "years 1970-2200")
            bad[i] = True
        for i in np.flatnonzero(~bad & (user == "")):
            self.log.reject(int(lines[i]), f"no {m['user']} (the user)")
            bad[i] = True
        t = (epoch - self.t0) / self.trace.speedup + self.k * self.trace.shift
        late = ~bad & (t < np.maximum.accumulate(np.where(bad, -np.inf, t)) - self.trace.max_disorder)
        late |= ~bad & (t < self.latest - self.trace.max_disorder)
        for i in np.flatnonzero(late):
            self.log.reject(int(lines[i]), f"out of time order by more than {self.trace.max_disorder:g} s "
                                           "(see --max-disorder)")
        keep = ~bad & ~late
        if keep.any():
            self.latest = max(self.latest, float(t[keep].max()))
        new = self.ids.clicks(self.k, t[keep], user[keep], cols[m["page"]][keep],
                              cols[m["email"]][keep] if "email" in m else None,
                              cols[m["contact"]][keep] if "contact" in m else None)
        merged = {c: np.concatenate([self.pending[c], new[c]]) for c in self.pending}
        order = np.argsort(merged["t"], kind="stable")
        self.pending = {c: v[order] for c, v in merged.items()}
        self.read_until = self.latest - self.trace.max_disorder
        self.parse_rejected += len(self.log.bad) - before

    @property
    def rows_read(self) -> int:
        """Rows read from the file: yielded ones and the ones the reader itself rejected."""
        return self.rows + len(self.log.bad) - self.parse_rejected

    def take_until(self, t_end: float) -> dict[str, np.ndarray]:
        while not self.done and self.read_until < t_end:
            self._parse()
        k = int(np.searchsorted(self.pending["t"], t_end, side="left"))
        out = {c: v[:k] for c, v in self.pending.items()}
        self.pending = {c: v[k:] for c, v in self.pending.items()}
        return out


class _Identities:
    """Users, e-mails and contact ids of the log as the twin's cookies, prospects and persons."""

    def __init__(self, n_prospects: int, payload_bytes: int) -> None:
        self.n_prospects = n_prospects
        self.payload_bytes = payload_bytes
        self.cookie: dict[tuple[int, str], int] = {}
        self.email: dict[tuple[int, str], int] = {}
        self.contact: dict[tuple[int, str], int] = {}
        self.person_of_cookie: dict[int, int] = {}
        self.next_event = 0

    def _index(self, table: dict, key) -> int:
        i = table.get(key)
        if i is None:
            i = table[key] = len(table)
        return i

    def clicks(self, k: int, t, user, page, email, contact) -> dict[str, np.ndarray]:
        n = len(t)
        out = empty_clicks()
        if not n:
            return out
        cookie = np.array([self._index(self.cookie, (k, u)) for u in user.tolist()], dtype=np.int64)
        names = [str(p).strip().lower() for p in page.tolist()]
        login = np.array([p == LOGIN_PAGE for p in names])
        code = np.array([PAGE_CODE.get(p, PAGE_CODE["other"]) if p != LOGIN_PAGE else PAGE_CODE["login"]
                         for p in names], dtype=np.int16)
        mail = np.full(n, -1, dtype=np.int64)
        cont = np.full(n, -1, dtype=np.int64)
        person = np.empty(n, dtype=np.int64)
        for i in range(n):
            c = int(cookie[i])
            if login[i]:
                if email is not None and email[i]:
                    mail[i] = self._index(self.email, (k, email[i]))
                if contact is not None and contact[i]:
                    cont[i] = self._index(self.contact, (k, contact[i]))
                who = mail[i] if mail[i] >= 0 else cont[i]
                if 0 <= who < self.n_prospects:
                    self.person_of_cookie[c] = int(who)
            person[i] = self.person_of_cookie.get(c, self.n_prospects + c)
        out.update({"t": np.asarray(t, dtype=float), "event_time": np.asarray(t, dtype=float), "person": person,
                    "cookie": cookie, "page": code, "event": np.where(login, LOGIN, PAGE_VIEW).astype(np.int8),
                    "email": mail, "contact": cont, "size_bytes": np.full(n, self.payload_bytes, dtype=np.int64),
                    "event_id": np.arange(self.next_event, self.next_event + n, dtype=np.int64)})
        self.next_event += n
        return out


class TraceClicks:
    """The click source of a trace-driven run (``take_until`` and ``counts``, like the visitors)."""

    name = "visitors"

    def __init__(self, trace: TraceLog, population) -> None:
        lo, _ = trace.span()
        self.trace = trace
        self.ids = _Identities(population.n_prospects, 1200)
        self.copies = [_Copy(trace, k, lo, self.ids) for k in range(trace.copies)]
        self.sent = 0

    def take_until(self, t_end: float) -> dict[str, np.ndarray]:
        parts = [c.take_until(t_end) for c in self.copies]
        merged = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        order = np.argsort(merged["t"], kind="stable")
        self.sent += len(order)
        return {c: v[order] for c, v in merged.items()}

    def held(self, horizon: float) -> dict:
        return {}

    def rejected(self) -> list:
        return sorted((b for c in self.copies for b in c.log.bad), key=lambda b: (b.line, b.reason))

    def counts(self) -> dict:
        rejected = self.rejected()
        return {"events_file": str(self.trace.path), "copies": self.trace.copies, "speedup": self.trace.speedup,
                "rows_read": sum(c.rows_read for c in self.copies), "rows_rejected": len(rejected),
                "clicks_sent": self.sent, "rows_pending": sum(len(c.pending["t"]) for c in self.copies),
                "users": len(self.ids.cookie), "emails": len(self.ids.email),
                "rejected_rows": [str(b) for b in rejected[:100]]}
