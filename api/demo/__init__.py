"""The demo school: `flask demo seed` builds and evaluates it, `flask demo simulate` keeps it moving."""

from api.demo.seed import DemoConflict, seed_school

__all__ = ["DemoConflict", "seed_school"]
