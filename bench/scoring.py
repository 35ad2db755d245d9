"""Score what the stack said about planted learners against their truth (bench/accuracy.py prints it)."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

from bench.archetypes import ARCHETYPES, AT_RISK, CLEAR_GAPS, EITHER, FLAT, MUST, RULE_NAMES


def rule_table(learners, alerts: dict[str, set[str]]) -> list[str]:
    """Per rule: precision, recall, F1 on the planted truth, and the share of flat learners it flags."""
    lines = ["| rule | TP | FP | FN | precision | recall | F1 | flat learners flagged |", "| --- " * 8 + "|"]
    misses: dict[str, list[str]] = {}
    for rule in RULE_NAMES:
        tp = fp = fn = flat_hits = flat_n = 0
        for learner in learners:
            fired = rule in alerts.get(learner.name, set())
            if rule in EITHER.get(learner.archetype, set()) | learner.either:
                continue
            truth = rule in MUST.get(learner.archetype, set())
            tp, fp, fn = tp + (fired and truth), fp + (fired and not truth), fn + (truth and not fired)
            if fired != truth:
                misses.setdefault(rule, []).append(f"{'FN' if truth else 'FP'} {learner.archetype}")
            if learner.archetype in FLAT and not truth:
                flat_n, flat_hits = flat_n + 1, flat_hits + fired
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        flat = f"{flat_hits}/{flat_n} = {100 * flat_hits / max(flat_n, 1):.1f}%"
        lines.append(f"| {rule} | {tp} | {fp} | {fn} | {precision:.2f} | {recall:.2f} | {f1:.2f} | {flat} |")
    lines += ["", all_stops_line(learners, alerts)]
    for rule, found in misses.items():
        counts = {name: found.count(name) for name in sorted(set(found))}
        lines.append(f"misses, {rule}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return lines


def all_stops_line(learners, alerts: dict[str, set[str]]) -> str:
    """completion_stagnation's recall over every planted stop, the ones under CLEAR_GAPS usual gaps included."""
    rule = "completion_stagnation"
    stops = [x for x in learners if rule in MUST.get(x.archetype, set())]
    found = [rule in alerts.get(x.name, set()) for x in stops]
    unclear = [x for x in stops if rule in x.either]
    return (
        f"{rule} over all {len(stops)} planted stops ({len(unclear)} of them under {CLEAR_GAPS:.0f} usual gaps, "
        f"found {sum(rule in alerts.get(x.name, set()) for x in unclear)}): recall {coverage_cell(found)}\n"
    )


def risk_table(learners, reports: dict[str, dict]) -> list[str]:
    """ROC AUC, Brier and calibration of the risk probability; unknown (grey) counts per archetype."""
    rows = [(reports[x.name]["risk"], x.archetype) for x in learners]
    model = {risk["model"] for risk, _ in rows}
    scored = [(r["probability"], a in AT_RISK) for r, a in rows if a in AT_RISK | set(FLAT)]
    p = np.array([s for s, _ in scored if s is not None])
    y = np.array([t for s, t in scored if s is not None])
    lines = [f"risk model(s): {', '.join(sorted(model))}; positives: {', '.join(sorted(AT_RISK))}; negatives: flat"]
    lines.append(f"ROC AUC {roc_auc_score(y, p):.3f}, Brier {brier_score_loss(y, p):.3f}, n = {len(p)}")
    edges = np.array([0, 0.1, 0.3, 0.6, 0.9, 1.0])
    lines += ["", "| predicted bin | learners | mean predicted | observed share at risk |", "| --- | --- | --- | --- |"]
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (p >= low) & ((p < high) | (high == 1.0))
        if inside.any():
            lines.append(f"| {low:.1f}-{high:.1f} | {inside.sum()} | {p[inside].mean():.2f} | {y[inside].mean():.2f} |")
    lines += ["", "| archetype | red | amber | green | grey (too little data) |", "| --- | --- | --- | --- | --- |"]
    for archetype in ARCHETYPES:
        lights = [r["light"] for r, a in rows if a == archetype]
        counts = [lights.count(name) for name in ("red", "amber", "green", "grey")]
        lines.append(f"| {archetype} | " + " | ".join(map(str, counts)) + " |")
    return lines


def score_chance(low, high, mean, sd) -> np.ndarray:
    """P(the next score lands in [low, high]) for a score clip(N(mean, sd), 0, 100), as the generator posts it.

    An interval reaching 0 (or 100) holds the clipped mass piled there: a score below 0 is posted as 0.
    """
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    below = np.where(low <= 0, -np.inf, low)
    above = np.where(high >= 100, np.inf, high)
    return stats.norm.cdf(above, mean, sd) - stats.norm.cdf(below, mean, sd)


def wilson_interval(hits: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial share of n independent learners (one outcome each)."""
    if n == 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(0.5 + level / 2)
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def coverage_cell(values) -> str:
    """'90.8% (95% CI 87.1-93.6)': a coverage is only checkable with its own uncertainty.

    values: one per learner (learners are independent; each has one forecast), either 0/1 outcomes
    or exact probabilities of landing inside. Either way the binomial (Wilson) interval is used: a
    value in 0..1 with mean p varies at most as a 0/1 outcome does (variance <= p (1 - p)), so the
    interval is exact for outcomes and conservative for probabilities. A t interval on the
    probabilities would be narrower but is not trustworthy at 40 learners: their distribution has a
    long lower tail (the few badly forecast learners), and a sample without them looks both high and
    precise.
    """
    values = np.asarray(values, dtype=float)
    low, high = wilson_interval(float(values.sum()), len(values))
    return f"{100 * values.mean():.1f}% (95% CI {100 * low:.1f}-{100 * high:.1f})"


def range_verdict(values, low: float, high: float, words: tuple[str, str] = ("in band", "NOT in band")) -> str:
    """Is the measured share within [low, high]? By the point estimate, and whether its 95% CI settles it.

    The first word follows the point estimate; the suffix says whether the whole Wilson interval lies on
    that side of the range's edges (settled) or crosses an edge (more learners would be needed to be sure).
    """
    values = np.asarray(values, dtype=float)
    if not len(values):
        return "no learners"
    ci_low, ci_high = wilson_interval(float(values.sum()), len(values))
    inside = low <= values.mean() <= high
    settled = low <= ci_low and ci_high <= high if inside else ci_high < low or ci_low > high
    return words[not inside] + (" (CI settles it)" if settled else " (CI crosses an edge)")


def band_verdict(values, stated: float, band: float = 0.05) -> str:
    """Coverage within stated +- band (the issue's target: +-5 points), by range_verdict."""
    return range_verdict(values, stated - band, stated + band)


def flat_alarm_table(learners, alerts: dict[str, set[str]]) -> list[str]:
    """Per rule: the share of every flat learner posted (forecast extras included) with the alert open at the end."""
    flat = [x for x in learners if x.archetype in FLAT]
    lines = ["| rule | flat learners (not its planted cases) | flagged | target | verdict |", "| --- " * 5 + "|"]
    for rule in RULE_NAMES:
        scored = [x for x in flat if rule not in MUST.get(x.archetype, set()) | EITHER.get(x.archetype, set())]
        fired = [rule in alerts.get(x.name, set()) for x in scored]
        verdict = range_verdict(fired, 0.0, 0.02, ("met", "NOT met"))
        lines.append(f"| {rule} | {len(fired)} | {coverage_cell(fired)} | <= 2% | {verdict} |")
    return lines
