"""Figures and the printed table of bench/dashboard_open.py: phases side by side, ratios to the baseline.

What had not arrived when a phase ended counts as infinitely late, so a stall that outlasts the phase
raises the percentiles instead of vanishing from them; such figures print as "> N s" (at least the
--late wait)."""

from __future__ import annotations

import math
import os
from datetime import datetime
from typing import Any

from bench.common import percentile

PHASES = ("A", "B1", "B2")
QS = ("p50", "p95", "max")
TITLES = {"A": "A: no dashboard opening", "B1": "B1: one open every {interval:g} s", "B2": "B2: {burst} at once"}


def _figures(values: list[float]) -> dict[str, float]:
    values = values or [math.nan]
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99),
            "max": max(values)}  # fmt: skip


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Percentiles (seconds) of live latency and dashboard time to initial data for every phase."""
    alone = results["alone"]["dashboards"]
    summary: dict[str, Any] = {
        "alone": {**_figures(alone), "opened": len(alone), "cpu": results["alone"]["web_cpu_per_open"]}
    }
    for name in PHASES:
        phase = results[name]
        missing = max(0, phase["sent"] - phase["received"])
        summary[name] = {
            "sent": phase["sent"],
            "received": phase["received"],
            "latency": _figures(phase["latencies"] + [math.inf] * missing),
            "opened": len(phase["dashboards"]),
            "completed": sum(math.isfinite(t) for t in phase["dashboards"]),
            "dashboards": _figures(phase["dashboards"]),
            "web_cpu": phase["web_cpu"],
            "client_cpu": phase["client_cpu"],
            "wall": phase["wall"],
        }
    return summary


def _ms(seconds: float, late: float) -> str:
    return f"> {late:g} s" if math.isinf(seconds) else f"{seconds * 1000:,.1f} ms"


def _ratio(value: float, base: float, late: float) -> str:
    return f"> {late / base:,.0f}x" if math.isinf(value) else f"{value / base:,.1f}x"


def _dashboard_cell(phase: dict[str, Any], late: float) -> str:
    if not phase["opened"]:
        return "-"
    figures = phase["dashboards"]
    times = " / ".join(f"> {late:g} s" if math.isinf(figures[q]) else f"{figures[q] * 1000:,.0f} ms" for q in QS)
    return f"{times} ({phase['completed']} of {phase['opened']} arrived)"


def _rows(summary: dict[str, Any], late: float) -> list[tuple[str, list[str]]]:
    phases = [summary[name] for name in PHASES]
    base = summary["A"]["latency"]
    return [
        ("live messages received / sent", [f"{p['received']:,} / {p['sent']:,}" for p in phases]),
        *((f"publish-to-receive {q}", [_ms(p["latency"][q], late) for p in phases]) for q in ("p50", "p99", "max")),
        (
            "p50 / p99 ratio to A",
            [
                f"{_ratio(p['latency']['p50'], base['p50'], late)} / {_ratio(p['latency']['p99'], base['p99'], late)}"
                for p in phases
            ],
        ),  # fmt: skip
        ("dashboard time to initial data p50 / p95 / max", [_dashboard_cell(p, late) for p in phases]),
        (
            "CPU of the web process / of this client process / wall time",
            [f"{p['web_cpu']:.1f} s / {p['client_cpu']:.1f} s / {p['wall']:.1f} s" for p in phases],
        ),
    ]


def print_report(args: Any, summary: dict[str, Any], command: str, began: datetime, load_before, load_after) -> None:
    """The table to paste into bench/RESULTS.md, with the command, the date and the machine's load."""
    titles = [TITLES[name].format(interval=args.interval, burst=args.burst) for name in PHASES]
    alone = summary["alone"]
    print("\nresults\n")
    print(f"Date: {began:%Y-%m-%d %H:%M} UTC. Command: `{command}`")
    print(
        f"Load average (1/5/15 min) on {os.cpu_count()} cores: {'/'.join(f'{x:.2f}' for x in load_before)} at the "
        f"start, {'/'.join(f'{x:.2f}' for x in load_after)} at the end."
    )
    print(
        f"Live load: {args.clients:,} sockets, {args.active} receiving {args.rate:g} messages/s each, "
        f"{args.seconds:g} s of publishing per phase (the first second left out), then at most {args.late:g} s "
        "for late arrivals."
    )
    print(f"\n| measure | {' | '.join(titles)} |\n| --- | --- | --- | --- |")
    for label, cells in _rows(summary, args.late):
        print(f"| {label} | {' | '.join(cells)} |")
    times = " / ".join(f"{alone[q] * 1000:,.0f}" for q in ("p50", "p95", "max"))
    print(
        f"\nOne dashboard alone (no live load, {alone['opened']} opens one after another): time to initial data "
        f"p50 / p95 / max {times} ms; web process CPU {alone['cpu'] * 1000:,.0f} ms per open."
    )
