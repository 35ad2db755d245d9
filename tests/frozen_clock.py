"""Stop the clock of the modules that compute a learner's figures, so two computations of them can be compared."""

from __future__ import annotations

from datetime import datetime
from types import ModuleType

import pytest


def freeze_now(monkeypatch: pytest.MonkeyPatch, now: datetime, *modules: ModuleType) -> None:
    """Every datetime.now(...) in `modules` answers `now` (their `datetime` name is replaced for the test)."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN206  (datetime.now's signature)
            return now

    for module in modules:
        monkeypatch.setattr(module, "datetime", Frozen)
