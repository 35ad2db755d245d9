"""The product brief's alert types and how our rules map onto them.

achievement rules -> "achievement"; every other rule -> the sweep that evaluates it
("performance" or "engagement"). "system" is accepted for clients written against the brief;
no rule raises system alerts today, so filtering by it matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from analytics.alert_rules import RULES, Rule

ALERT_TYPES = ("performance", "engagement", "achievement", "system")


def alert_type(rule: Rule) -> str:
    """The brief's type word for one of our rules."""
    return "achievement" if rule.kind == "achievement" else rule.sweep


TYPE_OF_RULE: dict[str, str] = {name: alert_type(rule) for name, rule in RULES.items()}


def rules_of_types(words: Iterable[str]) -> list[str]:
    """Rule names for a mix of rule names and type words, in RULES order (unknown words are dropped)."""
    wanted = set(words)
    return [name for name, kind in TYPE_OF_RULE.items() if name in wanted or kind in wanted]
