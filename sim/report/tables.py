"""Console tables (rich) of a run's summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def make_console() -> Console:
    """A console for tables: the terminal's width, or 120 columns when output is piped."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


def _s(value) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def print_summary(result, console: Console | None = None) -> None:
    from rich.table import Table

    console = console or make_console()
    frame = result.summary()
    table = Table(title=f"{result.scenario_name} (seed {result.seed}, horizon {result.horizon_s:,.0f} s)")
    for col in ("stage", "kind", "count", "msgs/s", "p50 s", "p95 s", "p99 s", "max s"):
        table.add_column(col, justify="left" if col in ("stage", "kind") else "right")
    for stage, row in frame.iterrows():
        table.add_row(stage, row["kind"], f"{int(row['count']):,}", f"{row['throughput_per_s']:.3f}",
                      *(_s(None if row[c] != row[c] else row[c]) for c in ("p50", "p95", "p99", "max")))
    console.print(table)
    aggregated = result.aggregated_kinds()
    if aggregated:
        console.print(f"aggregate ledger: {', '.join(aggregated)} latencies are percentiles from histograms "
                      "(within 0.25 %; counts, max and mean exact); its digest is the aggregate ledger's own",
                      soft_wrap=True)
    c = result.conservation
    dropped = ", ".join(f"{k}={v:,}" for k, v in sorted(c.dropped.items())) or "none"
    status = "[green]ok[/green]" if c.ok else "[red]VIOLATED[/red]"
    console.print(f"conservation {status}: created {c.created:,} = delivered {c.delivered:,} + dropped "
                  f"{sum(c.dropped.values()):,} ({dropped}) + in flight {c.in_flight:,}", soft_wrap=True)
    tp = result.throughput()
    console.print("throughput (msgs/s): " + ", ".join(f"{k} {v:.3f}" for k, v in tp.items()), soft_wrap=True)
    counts = result.counts
    ins, ident, crm = counts.get("insights", {}), counts.get("identity", {}), counts.get("crm", {})
    da = counts.get("data_actions", {})
    bus = counts.get("event_bus", {})
    if "insights" in counts:  # the Data Cloud pipeline
        console.print(f"insight firings {ins.get('firings', 0):,} (filtered for no CRM contact "
                      f"{da.get('filtered_no_contact', 0):,}), late events {ins.get('late', 0):,}; "
                      f"profiles {ident.get('unified_profiles', 0):,}, merges {ident.get('merges', 0):,}, "
                      f"refused links {ident.get('refused_links', 0):,}; tasks {crm.get('tasks_created', 0):,}",
                      soft_wrap=True)
        if ident.get("forms"):  # sign-ups under an e-mail the CRM does not know: batch re-unification
            console.print(f"identity batch runs {ident.get('batch_runs', 0):,}: sign-up forms {ident['forms']:,}, "
                          f"linked to a contact {ident.get('batch_links', 0):,} (wrong contact "
                          f"{ident.get('batch_wrong_links', 0):,}), merges {ident.get('batch_merges', 0):,}",
                          soft_wrap=True)
    ing = counts.get("ingestion", {})
    if ing.get("largest_request_records", 0) > 1 or ing.get("http_429", 0):
        console.print(f"ingestion: {ing.get('requests', 0):,} HTTP requests (retries included) for "
                      f"{ing.get('accepted_records', 0):,} accepted "
                      f"records (up to {ing.get('largest_request_records', 0):,} a request), HTTP 429 "
                      f"{ing.get('http_429', 0):,}", soft_wrap=True)
    if bus.get("largest_publish_call", 0) > 1:
        console.print(f"publish calls {bus.get('publish_calls', 0):,} (up to {bus['largest_publish_call']:,} events "
                      "a call)", soft_wrap=True)
    vis = counts.get("visitors", {})
    if "rows_rejected" in vis:  # a trace-driven run
        console.print(f"event log {vis['events_file']}: rows read {vis['rows_read']:,} (x{vis['copies']} copies), "
                      f"clicks sent {vis['clicks_sent']:,}, rejected {vis['rows_rejected']:,}, due after the horizon "
                      f"{vis['rows_pending']:,}", soft_wrap=True)
        for line in vis["rejected_rows"][:10]:
            console.print(f"  rejected {line}", soft_wrap=True, highlight=False)
        if vis["rows_rejected"] > 10:
            console.print(f"  ... {vis['rows_rejected'] - 10:,} more (summary.json counts.visitors.rejected_rows "
                          "has the first 100)", soft_wrap=True)
    bus = counts.get("event_bus", {})
    if "platform_event" in result.ledger.tables:
        first = bus.get("first_limit_exceeded_s")
        console.print(f"event bus: published {bus.get('published', 0):,}, LIMIT_EXCEEDED "
                      f"{bus.get('limit_exceeded', 0):,}" + (f" (first at {first:,.0f} s)" if first is not None else "")
                      + f", peak allocation used {bus.get('allocation_peak_per_hour', 0):,}/h", soft_wrap=True)
    if result.pipeline is not None and "intents" in result.extras():
        print_intents(result.intent_summary(), console)
    if result.system is not None and result.pipeline is not None:
        for line in result.system.summary_lines(result):
            console.print(line, soft_wrap=True)
    lost = result.lost_detail()
    if len(lost):
        table = Table(title="what was lost and why")
        for col in ("kind", "reason", "count", "first_s", "last_s", "last stage reached"):
            table.add_column(col, justify="right" if col in ("count", "first_s", "last_s") else "left")
        for row in lost.itertuples(index=False):
            table.add_row(row.kind, row.reason, f"{row.count:,}", f"{row.first_s:,.0f}", f"{row.last_s:,.0f}",
                          row.last_stage)
        console.print(table)


def _counts(mapping: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in mapping.items() if v) or "-"


def print_intents(intents: dict, console: Console) -> None:
    """The intents line: caught, late, missed (by reason), pending (by cause), and time to action."""
    tta, tda = intents["time_to_action_s"], intents["time_to_data_action_s"]
    console.print(f"intents {intents['intents']:,}: caught {intents['caught']:,}, late {intents['late']:,}, "
                  f"missed {intents['missed']:,} ({_counts(intents['missed_by_reason'])}), pending "
                  f"{intents['pending']:,} ({_counts(intents['pending_by_cause'])}); acted {intents['acted']:,}",
                  soft_wrap=True)
    console.print(f"time to action (intent -> reaction) p50 {_s(tta['p50'])} s, p95 {_s(tta['p95'])} s; "
                  f"to the Data Action p50 {_s(tda['p50'])} s", soft_wrap=True)


_SHORT = (("latency_s.", ""), ("click->notification", "bell"), ("click->ack", "ack"),
          ("trigger->first_step", "1st_step"), ("change->inbox", "inbox"),
          ("throughput_per_s.", "tput."), ("conservation.dropped.", "drop."), ("conservation.", ""),
          ("intents.", "int."), ("counts.", ""))


def short_name(column: str) -> str:
    """A display name for a metric column (``latency_s.click->notification.p99`` -> ``bell.p99``)."""
    for long, short in _SHORT:
        column = column.replace(long, short)
    return column


def experiment_table(table):
    """A results table for the console: short metric names, and no ``scenario`` column when it
    holds a single scenario."""
    out = table.rename(columns=short_name)
    if "scenario" in out and out["scenario"].nunique() <= 1:
        out = out.drop(columns="scenario")
    return out
