"""Figures and the printed table of bench/dashboard_open.py: phases side by side, ratios to the baseline."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from bench.common import percentile

PHASE_TITLES = {"A": "A: no dashboard opening", "B1": "B1: one open every {interval:g} s", "B2": "B2: {burst} at once"}


def _dashboard_figures(times: list[float | None]) -> dict[str, Any]:
    done = [t for t in times if t is not None]
    figures: dict[str, Any] = {"opened": len(times), "completed": len(done)}
    if done:
        figures.update(p50=percentile(done, 50), p95=percentile(done, 95), max=max(done))
    return figures


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Percentiles in milliseconds (latency) and seconds (dashboards) for every phase."""
    summary: dict[str, Any] = {
        "alone": {**_dashboard_figures(results["alone"]["dashboards"]), "cpu": results["alone"]["web_cpu_per_open"]}
    }
    for name in ("A", "B1", "B2"):
        phase = results[name]
        latencies = phase["latencies"] or [float("nan")]
        summary[name] = {
            "sent": phase["sent"],
            "received": phase["received"],
            "p50": 1000 * percentile(latencies, 50),
            "p99": 1000 * percentile(latencies, 99),
            "max": 1000 * max(latencies),
            "dashboards": _dashboard_figures(phase["dashboards"]),
            "web_cpu": phase["web_cpu"],
            "wall": phase["wall"],
            "settle": phase["settle"],
        }
    return summary


def _dashboard_cell(figures: dict[str, Any]) -> str:
    if not figures["opened"]:
        return "-"
    if not figures["completed"]:
        return f"0 of {figures['opened']} completed"
    return (
        f"{figures['p50'] * 1000:,.0f} / {figures['p95'] * 1000:,.0f} / {figures['max'] * 1000:,.0f} ms "
        f"({figures['completed']} of {figures['opened']})"
    )


def _rows(summary: dict[str, Any]) -> list[tuple[str, list[str]]]:
    phases = [summary[name] for name in ("A", "B1", "B2")]
    base = summary["A"]
    return [
        ("live messages received / sent", [f"{p['received']:,} / {p['sent']:,}" for p in phases]),
        ("publish-to-receive p50", [f"{p['p50']:,.1f} ms" for p in phases]),
        ("publish-to-receive p99", [f"{p['p99']:,.1f} ms" for p in phases]),
        ("publish-to-receive max", [f"{p['max']:,.1f} ms" for p in phases]),
        ("p50 / p99 ratio to A", [f"{p['p50'] / base['p50']:,.1f}x / {p['p99'] / base['p99']:,.1f}x" for p in phases]),
        ("dashboard time to initial data p50 / p95 / max", [_dashboard_cell(p["dashboards"]) for p in phases]),
        ("web process CPU, first publish until idle again", [f"{p['web_cpu']:.1f} s" for p in phases]),
        (
            "phase wall time; then waited for the web process to idle",
            [f"{p['wall']:.1f} s; {p['settle']:.1f} s" for p in phases],
        ),
    ]


def print_report(args: Any, summary: dict[str, Any], command: str, began: datetime, load_before, load_after) -> None:
    """The table to paste into bench/RESULTS.md, with the command, the date and the machine's load."""
    titles = [PHASE_TITLES[name].format(interval=args.interval, burst=args.burst) for name in ("A", "B1", "B2")]
    alone = summary["alone"]
    print("\nresults\n")
    print(f"Date: {began:%Y-%m-%d %H:%M} UTC. Command: `{command}`")
    print(
        f"Load average (1/5/15 min) on {os.cpu_count()} cores: {'/'.join(f'{x:.2f}' for x in load_before)} at the start, "
        f"{'/'.join(f'{x:.2f}' for x in load_after)} at the end."
    )
    print(
        f"Live load: {args.clients:,} sockets, {args.active} receiving {args.rate:g} messages/s each, "
        f"{args.seconds:g} s per phase (the first second of each left out as warm-up)."
    )
    print(f"\n| measure | {' | '.join(titles)} |\n| --- | --- | --- | --- |")
    for label, cells in _rows(summary):
        print(f"| {label} | {' | '.join(cells)} |")
    print(
        f"\nOne dashboard alone (no live load, {alone['opened']} opens one after another): time to initial data "
        f"{_dashboard_cell(alone)} (p50 / p95 / max); web process CPU {alone['cpu'] * 1000:,.0f} ms per open."
    )
