"""``report.html``: one self-contained page per run, to paste into a design review or mail.

Everything is inline (figures as base64 PNG, styles in the page): it opens in a browser with no
server and no network. It holds the headline numbers, the warnings, the intents, the per-stage
summary, what was lost and why, the counters, every figure of the run and the resolved scenario
with its seed.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd
import yaml

STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.meta { color: #555; } .warn { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5em 1em; }
.ok { color: #1a7f37; } .bad { color: #c62828; font-weight: bold; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.8em; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; }
.card b { display: block; font-size: 1.4em; }
"""


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    if frame is None or frame.empty:
        return "<p>none</p>"
    return frame.to_html(index=index, border=0, float_format=lambda x: f"{x:,.3f}", na_rep="-", escape=True)


def _card(label: str, value) -> str:
    return f'<div class="card">{html.escape(label)}<b>{html.escape(str(value))}</b></div>'


def _seconds(v) -> str:
    return "-" if v is None else f"{v:,.1f} s"


def render(result, figures: dict[str, bytes] | None = None, command: str | None = None) -> str:
    """The page as text. ``figures`` maps a file name to PNG bytes (none: no figures section)."""
    d = result.to_dict()
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(result.scenario_name)}: sim report</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(result.scenario_name)}</h1>",
             f"<p class='meta'>seed {result.seed} · horizon {result.horizon_s:,.0f} s"
             f" · sim {html.escape(result.version)}"
             f" · ledger digest <code>{d['ledger_digest'][:16]}</code> · simulated in {result.wall_s:,.1f} s</p>"]
    if command:
        parts.append(f"<p class='meta'><code>{html.escape(command)}</code></p>")
    for w in d.get("warnings") or []:
        parts.append(f"<p class='warn'>warning: {html.escape(w)}</p>")
    c = result.conservation
    cards = [_card("messages created", f"{c.created:,}"), _card("delivered", f"{c.delivered:,}"),
             _card("dropped", f"{sum(c.dropped.values()):,}"), _card("in flight at the horizon", f"{c.in_flight:,}")]
    key = result.primary_e2e()
    if key:
        stats = d["latency_s"].get(key, {})
        cards += [_card(f"{key} p50", _seconds(stats.get("p50"))), _card(f"{key} p99", _seconds(stats.get("p99")))]
    intents = d.get("intents")
    if intents:
        cards += [_card("intents", f"{intents['intents']:,}"), _card("caught", f"{intents['caught']:,}"),
                  _card("missed", f"{intents['missed']:,}")]
    parts.append("<div class='cards'>" + "".join(cards) + "</div>")
    status = "<span class='ok'>ok</span>" if c.ok else "<span class='bad'>VIOLATED</span>"
    parts.append(f"<p>conservation {status}: created {c.created:,} = delivered {c.delivered:,} + dropped "
                 f"{sum(c.dropped.values()):,} + in flight {c.in_flight:,}</p>")
    if intents:
        parts.append("<h2>Intents: did the business react in time?</h2>")
        rows = [{"status": s, "intents": intents[s]} for s in ("caught", "late", "missed", "pending")]
        rows += [{"status": f"missed: {k}", "intents": v} for k, v in intents["missed_by_reason"].items()]
        rows += [{"status": f"pending: {k}", "intents": v} for k, v in intents["pending_by_cause"].items()]
        rows.append({"status": "acted (Data Action within catch_within)", "intents": intents["acted"]})
        parts.append(_table(pd.DataFrame(rows), index=False))
        rows = [{"measure": name, **intents[f"{name}_s"]}
                for name in ("time_to_action", "time_to_data_action")]
        parts.append(_table(pd.DataFrame(rows), index=False))
    if result.system is not None and result.pipeline is not None:
        for heading, frame in result.system.report_tables(result).items():
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts.append(_table(frame, index=False))
    parts.append("<h2>Latency and throughput per stage</h2>")
    summary = result.summary()
    parts.append(_table(summary))
    parts.append("<h2>What was lost and why</h2>")
    parts.append(_table(result.lost_detail(), index=False))
    if figures:
        parts.append("<h2>Figures</h2>")
        for name, png in figures.items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(name)}</figcaption></figure>")
    parts.append("<h2>Counters</h2>")
    parts.append(f"<pre>{html.escape(json.dumps(d['counts'], indent=2, default=str))}</pre>")
    scenario = result.scenario_dict()
    if scenario is not None:
        parts.append("<h2>Scenario (resolved, every default filled in)</h2>")
        parts.append(f"<pre>{html.escape(yaml.safe_dump(scenario, sort_keys=False))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(result, path: Path, figures: dict[str, bytes] | None = None, command: str | None = None) -> Path:
    """Write ``report.html`` (or ``path``) and return its path."""
    path = Path(path)
    path.write_text(render(result, figures, command), encoding="utf-8")
    return path
