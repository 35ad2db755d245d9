"""The product brief's alert types and how our rules map onto them (each rule's `type`, analytics.rule_catalog).

achievement rules -> "achievement"; "system" rules (account_inactive) -> "system"; every other rule -> the
sweep that evaluates it ("performance" or "engagement").
"""

from __future__ import annotations

from collections.abc import Iterable

from analytics.alert_rules import RULES, Rule
from analytics.rule_catalog import ALERT_TYPES

__all__ = ["ALERT_TYPES", "TYPE_OF_RULE", "alert_type", "rules_of_types"]


def alert_type(rule: Rule) -> str:
    """The brief's type word for one of our rules."""
    return rule.type


TYPE_OF_RULE: dict[str, str] = {name: rule.type for name, rule in RULES.items()}


def rules_of_types(words: Iterable[str]) -> list[str]:
    """Rule names for a mix of rule names and type words, in RULES order (`all`: every rule; unknown words
    are dropped)."""
    wanted = set(words)
    if "all" in wanted:
        return list(TYPE_OF_RULE)
    return [name for name, kind in TYPE_OF_RULE.items() if name in wanted or kind in wanted]
