"""The roster's query parameters (sort, order, risk, rule, q, limit, cursor), shared by the roster
endpoints and the roster exports."""

from __future__ import annotations

from flask import request

from analytics.alert_rules import RULES
from api.errors import ApiError, field_error
from api.query_args import DEFAULT_LIMIT, MAX_LIMIT, choice_arg, int_arg, reject_unknown_args
from services.roster import RISK_FILTERS, SORT_COLUMNS, RosterQuery, decode_cursor

FILTER_ARGS = ("sort", "order", "risk", "rule", "q")
PAGE_ARGS = ("limit", "cursor")
MAX_SEARCH = 200


def roster_query(
    default_sort: str = "external_id",
    default_order: str = "asc",
    paged: bool = True,
    extra_args: tuple[str, ...] = (),
    default_limit: int = DEFAULT_LIMIT,
) -> RosterQuery:
    """Parse and validate the roster parameters; unknown parameters are a 400 naming them.
    An export (`paged=False`) takes the filters only and returns every matching row."""
    reject_unknown_args(FILTER_ARGS + (PAGE_ARGS if paged else ()) + extra_args)
    sort = choice_arg("sort", tuple(SORT_COLUMNS)) or default_sort
    descending = (choice_arg("order", ("asc", "desc")) or default_order) == "desc"
    q = request.args.get("q") or None
    if q is not None and len(q) > MAX_SEARCH:
        raise ApiError(400, "query parameter q is too long", details=[field_error("q", f"at most {MAX_SEARCH}")])
    after = None
    if paged and request.args.get("cursor"):
        try:
            after = decode_cursor(request.args["cursor"], sort, descending)
        except ValueError as exc:
            raise ApiError(400, f"query parameter cursor {exc}", details=[field_error("cursor", str(exc))]) from exc
    return RosterQuery(
        sort=sort,
        descending=descending,
        risk=choice_arg("risk", RISK_FILTERS),
        rule=choice_arg("rule", tuple(sorted(RULES))),
        q=q,
        limit=int_arg("limit", default_limit, 1, MAX_LIMIT) if paged else MAX_LIMIT,
        after=after,
    )
