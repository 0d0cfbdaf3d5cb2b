"""Every SQL the pages need: SQLAlchemy Core over ``ingestor.schema``, no Dash.

Functions take a Connection and a :class:`Filters` and return small lists of dicts. Modules:
``base`` (filters, rollup choice, bucketing), ``usage`` (overview, series, models, state of the
database), ``tools``, ``sessions``, ``groups`` (cron and sub-agents), ``alerts``.
"""

from webapp.queries.alerts import SPIKE_WINDOW, acked, acknowledge, cost_spikes, session_alerts
from webapp.queries.base import Filters, run_parallel
from webapp.queries.groups import group_series, group_table, groups
from webapp.queries.sessions import (
    cron_runs,
    session_calls,
    session_info,
    session_models,
    session_names,
    session_tool_calls,
    session_tree,
    sessions_grid,
)
from webapp.queries.tools import (
    exec_families,
    recent_tool_calls,
    tool_counts,
    tool_series,
    tools_summary,
    top_tool_series,
)
from webapp.queries.usage import (
    data_extent,
    filter_options,
    has_sources,
    is_empty,
    model_sessions,
    models_and_series,
    models_table,
    overview,
    schema_missing,
    total_series,
    usage_series,
    usage_totals,
)

__all__ = [
    "SPIKE_WINDOW",
    "Filters",
    "acked",
    "acknowledge",
    "cost_spikes",
    "cron_runs",
    "data_extent",
    "exec_families",
    "filter_options",
    "group_series",
    "group_table",
    "groups",
    "has_sources",
    "is_empty",
    "model_sessions",
    "models_and_series",
    "models_table",
    "overview",
    "recent_tool_calls",
    "run_parallel",
    "schema_missing",
    "session_alerts",
    "session_calls",
    "session_info",
    "session_models",
    "session_names",
    "session_tool_calls",
    "session_tree",
    "sessions_grid",
    "tool_counts",
    "tool_series",
    "tools_summary",
    "top_tool_series",
    "total_series",
    "usage_series",
    "usage_totals",
]
