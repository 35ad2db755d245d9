"""Interval coverage and stagnation recall on thousands of planted learners, through analytics/ directly.

bench/accuracy.py drives 40 learners per archetype through the real API: a 90% coverage measured on 40
forecasts has a 95% confidence interval of about +-6 points, too wide to check a +-5-point target, and
a recall on 80 stopped learners one of about +-6 points. This runs the same generator
(bench/archetypes.py) through the same analytics the API and the worker call, with the API's settings
(services.reports: window, levels; the rule's defaults), on many more learners: seconds of CPU.

Score forecasts: each learner's last FORECAST_WINDOW scores, the forecast `horizon` days after now,
scored as the exact P(next score inside | interval) (bench.scoring.score_chance), one per learner.
Completion: the course prior from all simulated learners (cohort_prior, as services.course_pace) and
each learner's 80% interval against the planted finish (continuous days). Stagnation: the rule itself
(analytics.alert_rules) on the planted stoppers and flat learners.

Usage: .venv/bin/python bench/coverage_sample.py [--per-archetype 2000] [--seed 11]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.alert_rules import RULES, evaluate  # noqa: E402
from analytics.forecast import cohort_prior, forecast_completion, forecast_recent_scores, gap_dispersion  # noqa: E402
from analytics.grouping import SECONDS_PER_DAY, segments, sort_by_learner_time  # noqa: E402
from analytics.learner_metrics import KIND_CODES, EventArrays, compute_learner_metrics  # noqa: E402
from analytics.rule_inputs import build_rule_inputs  # noqa: E402
from bench.archetypes import CLEAR_GAPS, FLAT, MODULES, MUST, PLANTED_FUTURE, make_cohort, make_learner  # noqa: E402
from bench.forecast_checks import MAX_MEDIAN_ERROR_DAYS, MIN_HISTORY_DAYS, history_days  # noqa: E402
from bench.scoring import band_verdict, coverage_cell, range_verdict, score_chance  # noqa: E402

NOW = 1_780_000_000.0  # any instant: the generator places events in days before now
FORECAST_WINDOW, FORECAST_LEVEL, COMPLETION_LEVEL = 8, 0.9, 0.8  # as services.reports
SCORE_GROUPS = {"all planted (marginal)": PLANTED_FUTURE}
SCORE_GROUPS.update({"flat (steady + noisy + high achievers)": FLAT, "decliners": ("decliner",)})
SCORE_GROUPS.update({f"  {kind}": (kind,) for kind in FLAT})
# decline_start (days ago) of the recent-change learners: a week ago (3 falling scores), 4 scores ago (one every 7/3 days)
RECENT_CHANGES = ((7.0, "7 days ago"), (4 * 7 / 3 + 0.3, "4 scores ago"), (10.0, "10 days ago"))


def event_arrays(learners) -> EventArrays:
    """The learners' events as the analytics read them (sorted by learner, then time)."""
    rows = [(i, e["days_ago"], e["kind"], e.get("score", np.nan)) for i, x in enumerate(learners) for e in x.events]
    learner = np.array([r[0] for r in rows], dtype=np.int64)
    time = NOW - np.array([r[1] for r in rows]) * SECONDS_PER_DAY
    kind = np.array([KIND_CODES[r[2]] for r in rows], dtype=np.int8)
    percent = np.array([r[3] for r in rows], dtype=float)
    learner, time, kind, percent = sort_by_learner_time(learner, time, kind, percent)
    return EventArrays(len(learners), learner, time, kind, percent)


def score_chances(learners, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Per learner: P(their next score, `horizon` days on, lands in the stated 90% interval), and its width."""
    data = event_arrays(learners)
    assessed = data.kind == KIND_CODES["assessment"]
    seg = segments(data.learner[assessed], data.n_learners, data.time[assessed])
    forecast = forecast_recent_scores(
        seg, data.time[assessed], data.percent[assessed], NOW, FORECAST_WINDOW, horizon, FORECAST_LEVEL
    )
    mean = np.array([x.future_mean for x in learners])
    sd = np.array([x.noise for x in learners])
    return score_chance(forecast.low, forecast.high, mean, sd), forecast.high - forecast.low


def score_row(name: str, learners, horizon: float) -> str:
    """One markdown row: coverage (95% CI), its verdict against 90 +- 5, and the median interval width in points."""
    chance, width = score_chances(learners, horizon)
    return (
        f"| score in {horizon:.0f} days, {name} | {len(learners)} | 90% | {coverage_cell(chance)} | "
        f"{band_verdict(chance, FORECAST_LEVEL)} | median width {np.nanmedian(width):.1f} points |"
    )


def completion_outcomes(cohort, learners) -> tuple[np.ndarray, np.ndarray]:
    """Per learner with a planted finish: inside the 80% interval? |median - finish| in days (course prior: cohort)."""

    def pace(group):
        data = event_arrays(group)
        first = segments(data.learner, data.n_learners).reduce(np.minimum, data.time)
        done = data.kind == KIND_CODES["module_completed"]
        completed = np.bincount(data.learner[done], minlength=data.n_learners)
        return data, done, completed, (NOW - first) / SECONDS_PER_DAY

    *_, completed, exposure = pace(cohort)
    shape, days = cohort_prior(np.zeros(len(cohort), dtype=np.int64), completed, exposure, 1)
    data, done, completed, exposure = pace(learners)
    regularity = gap_dispersion(data.learner[done], data.time[done], data.n_learners)
    total = np.full(len(learners), MODULES)
    forecast = forecast_completion(completed, total, exposure, 0.0, regularity, COMPLETION_LEVEL, shape[0], days[0])
    finish = np.array([x.finish_days for x in learners])
    return (forecast.low_days <= finish) & (finish <= forecast.high_days), np.abs(forecast.median_days - finish)


def completion_rows(cohort) -> list[str]:
    """The 80% interval per archetype and over every planted learner, and the median error on 3+ weeks of history."""
    planted = [x for x in cohort if not np.isnan(x.finish_days)]
    inside, error = completion_outcomes(cohort, planted)
    kinds = np.array([x.archetype for x in planted])
    rows = []
    for name, chosen in [(k, kinds == k) for k in PLANTED_FUTURE] + [("all planted (marginal)", kinds == kinds)]:
        rows.append(
            f"| completion date, {name} | {chosen.sum()} | 80% | {coverage_cell(inside[chosen])} | "
            f"{band_verdict(inside[chosen], COMPLETION_LEVEL)} | median error {np.median(error[chosen]):.1f} days |"
        )
    long = np.array([history_days(x) >= MIN_HISTORY_DAYS for x in planted])
    median = float(np.median(error[long]))
    verdict = "met" if median <= MAX_MEDIAN_ERROR_DAYS else "NOT met"
    rows.append(
        f"| completion median error, 3+ weeks of history | {long.sum()} | <= {MAX_MEDIAN_ERROR_DAYS:.0f} days | "
        f"{median:.1f} days | {verdict} | |"
    )
    return rows


def rule_flags(learners, rule_name: str = "completion_stagnation") -> np.ndarray:
    """One rule with its defaults (UTC days), on each learner at the end of their history."""
    data = event_arrays(learners)
    done = data.kind == KIND_CODES["module_completed"]
    left = MODULES - np.bincount(data.learner[done], minlength=data.n_learners).astype(float)
    zeros = np.zeros(data.n_learners)
    inputs = build_rule_inputs(data, compute_learner_metrics(data, NOW), zeros, NOW, "UTC", "x", left)
    rule = RULES[rule_name]
    thresholds = {k: np.full(data.n_learners, float(v)) for k, v in rule.defaults.items()}
    return evaluate(rule, inputs, thresholds).triggered


def stagnation_rows(cohort) -> list[str]:
    """completion_stagnation: recall on clear stops, on all, by open gap in usual gaps, flat learners flagged;
    low_consistency's recall on inconsistent learners alone (the end-to-end table pools them with disengaged ones)."""
    stops = [x for x in cohort if "completion_stagnation" in MUST.get(x.archetype, set())]
    found = rule_flags(stops)
    unclear = np.array(["completion_stagnation" in x.either for x in stops])
    usual = np.array([x.usual_gaps for x in stops])
    flat = rule_flags([x for x in cohort if x.archetype in FLAT])
    rows = [
        (f"completion_stagnation recall, clear stops (>= {CLEAR_GAPS:.0f} usual gaps)", found[~unclear], ">= 90%"),
        ("completion_stagnation recall, all planted stops", found, ""),
    ]
    for low, high in ((0, 3), (3, 3.5), (3.5, 4), (4, 4.5), (4.5, np.inf)):
        inside = (usual >= low) & (usual < high) | (np.isnan(usual) & np.isinf(high))  # nothing done: plain floor
        rows.append((f"  open gap {low}-{high} usual gaps", found[inside], ""))
    rows.append(("completion_stagnation, flat learners flagged", flat, "<= 2%"))
    inconsistent = rule_flags([x for x in cohort if x.archetype == "inconsistent"], "low_consistency")
    rows.append(("low_consistency recall, inconsistent learners", inconsistent, ">= 90%"))
    verdicts = {">= 90%": (0.9, 1.0), "<= 2%": (0.0, 0.02)}
    return [
        f"| {name} | {len(values)} | {stated} | {coverage_cell(values)} | "
        f"{range_verdict(values, *verdicts[stated], ('met', 'NOT met')) if stated else ''} | |"
        for name, values, stated in rows
    ]


def report(per_archetype: int, seed: int, horizon: float) -> list[str]:
    """Markdown rows: coverage per forecast and group, stagnation recall and flat false alarms, with 95% CIs."""
    rng = np.random.default_rng(seed + 10_000)  # extra learners, apart from the cohort's draws
    cohort = make_cohort(per_archetype, seed, horizon, NOW % SECONDS_PER_DAY / SECONDS_PER_DAY)
    lines = [
        "| check | learners (one value each) | stated | measured (95% CI) | verdict | width / error |",
        "| --- " * 6 + "|",
    ]
    for name, kinds in SCORE_GROUPS.items():
        lines.append(
            score_row(name, [x for x in cohort if x.archetype in kinds and not np.isnan(x.future_mean)], horizon)
        )
    for start, label in RECENT_CHANGES:
        recent = [make_learner(i, "decliner", rng, horizon, start) for i in range(per_archetype)]
        lines.append(score_row(f"decliners whose fall began {label} (recent change)", recent, horizon))
    lines += completion_rows(cohort)
    lines += stagnation_rows(cohort)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-archetype", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--horizon", type=float, default=14.0)
    args = parser.parse_args()
    print(f"\nplanted sample: {args.per_archetype} learners per archetype, seed {args.seed} (analytics only)\n")
    print("\n".join(report(args.per_archetype, args.seed, args.horizon)) + "\n")


if __name__ == "__main__":
    main()
