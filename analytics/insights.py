"""Short, specific sentences about one learner, generated from their metrics.

Worded for the learner ("Your scores rose 8 points over the last 2 weeks") when they read their
own data, and for an educator ("Ada's scores rose ...") otherwise. A sentence appears only when
its numbers exist and say something: no data, no sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STEADY_POINTS = 3.0  # a change of fewer points than this is "steady"
INACTIVE_DAYS = 3.0


@dataclass(frozen=True)
class InsightFacts:
    name: str
    score_change: float = math.nan  # points, recent window minus the one before
    window_days: int = 14
    recent_average: float = math.nan
    previous_average: float = math.nan
    current_streak: int = 0
    longest_streak: int = 0
    active_days_last_week: int = 0
    days_since_activity: float = math.nan
    modules_completed: int = 0
    total_modules: int = 0
    peak_period: str | None = None
    peak_weekday: str | None = None
    next_completion: tuple[str, str] | None = None  # (course, ISO date)
    risk_light: str | None = None
    risk_probability: float = math.nan
    top_risk_factor: str | None = None


@dataclass(frozen=True)
class Voice:
    """Pronouns for the reader: the learner themselves, or someone reading about them."""

    subject: str  # "You" / "Ada"
    possessive: str  # "Your" / "Ada's"
    has: str  # "You have" / "Ada has"
    were: str  # "You were" / "Ada was"

    @staticmethod
    def of(facts: InsightFacts, for_learner: bool) -> Voice:
        if for_learner:
            return Voice("You", "Your", "You have", "You were")
        return Voice(facts.name, f"{facts.name}'s", f"{facts.name} has", f"{facts.name} was")


def _weeks(days: int) -> str:
    return f"{days // 7} weeks" if days % 7 == 0 and days >= 14 else f"{days} days"


def _scores(f: InsightFacts, v: Voice) -> list[str]:
    if math.isnan(f.score_change):
        if not math.isnan(f.recent_average):
            return [f"{v.possessive} average over the last {_weeks(f.window_days)} is {f.recent_average:.0f}%."]
        return []
    points = abs(f.score_change)
    span = f"over the last {_weeks(f.window_days)}"
    if points < STEADY_POINTS:
        return [f"{v.possessive} scores held steady at about {f.recent_average:.0f}% {span}."]
    verb = "rose" if f.score_change > 0 else "fell"
    return [
        f"{v.possessive} scores {verb} {points:.0f} points {span} "
        f"(from {f.previous_average:.0f}% to {f.recent_average:.0f}%)."
    ]


def _activity(f: InsightFacts, v: Voice) -> list[str]:
    out = []
    if not math.isnan(f.days_since_activity) and f.days_since_activity >= INACTIVE_DAYS:
        out.append(f"{v.has} not been active for {int(f.days_since_activity)} days.")
    elif f.current_streak >= 2:
        longest = f"; the longest run is {f.longest_streak} days" if f.longest_streak > f.current_streak else ""
        out.append(f"{v.has} studied {f.current_streak} days in a row{longest}.")
    if f.active_days_last_week or not math.isnan(f.days_since_activity):
        out.append(f"{v.were} active on {f.active_days_last_week} of the last 7 days.")
    if f.peak_period:
        day = f", most often on {f.peak_weekday.capitalize()}s" if f.peak_weekday else ""
        work = "do" if v.subject == "You" else "does"
        out.append(f"{v.subject} {work} most of the work in the {f.peak_period}{day}.")
    return out


def _progress(f: InsightFacts, v: Voice, for_learner: bool) -> list[str]:
    out = []
    if f.total_modules:
        share = 100.0 * f.modules_completed / f.total_modules
        out.append(f"{v.has} completed {f.modules_completed} of {f.total_modules} modules ({share:.0f}%).")
    if f.next_completion:
        course, when = f.next_completion
        pace = "your" if for_learner else "the current"
        out.append(f"At {pace} pace, {course} will be finished around {when}.")
    return out


def _risk(f: InsightFacts, v: Voice, for_learner: bool) -> list[str]:
    if f.risk_light not in ("amber", "red") or math.isnan(f.risk_probability):
        return []
    factor = f" (largest factor: {f.top_risk_factor.replace('_', ' ')})" if f.top_risk_factor else ""
    if for_learner:
        return [f"{v.possessive} recent pattern suggests asking for support soon{factor}."]
    return [f"The risk model rates {f.name} {f.risk_light} at {100 * f.risk_probability:.0f}%{factor}."]


def learner_insights(facts: InsightFacts, for_learner: bool) -> list[str]:
    """The sentences for one learner, most important first."""
    voice = Voice.of(facts, for_learner)
    return [
        *_risk(facts, voice, for_learner),
        *_scores(facts, voice),
        *_activity(facts, voice),
        *_progress(facts, voice, for_learner),
    ]
