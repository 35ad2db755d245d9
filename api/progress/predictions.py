"""GET predictive-analytics/ and trend-analysis/."""

from __future__ import annotations

from datetime import UTC, datetime

from api.auth.guard import require_auth
from api.progress import bp
from api.progress.common import open_rules, reads_own, target_learner
from api.query_args import choice_arg, int_arg
from services.progress_context import load_context
from services.progress_trend_report import TREND_TYPES, trend_analysis
from services.progress_views import predictive


@bp.get("/predictive-analytics/")
@require_auth()
def predictive_analytics():
    """Score forecast `horizon` days ahead (default 14) with a 90% interval, completion forecasts with
    80% intervals, risk factors, recommendations and what the confidence numbers mean."""
    learner = target_learner()
    horizon = int_arg("horizon", 14, 1, 365)
    body = predictive(load_context(learner), horizon, reads_own(learner), open_rules(learner.id))
    return {"user_id": learner.external_id, "timestamp": datetime.now(UTC).isoformat(), **body}


@bp.get("/trend-analysis/")
@require_auth()
def trend_analysis_view():
    """Trends over the last `period` days (default 30): learning, performance, engagement, peaks and
    learning style (`type` narrows: comprehensive, performance, engagement, learning)."""
    learner = target_learner()
    period = int_arg("period", 30, 7, 365)
    kind = choice_arg("type", TREND_TYPES) or "comprehensive"
    body = trend_analysis(load_context(learner), period, kind, reads_own(learner))
    return {"user_id": learner.external_id, "timestamp": datetime.now(UTC).isoformat(), **body}
