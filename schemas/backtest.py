"""Pandera model of the backtest results table: one row per strategy, every metric of METRIC_NAMES as a column.

The table is :meth:`hrl_sarp.backtest.engine.BacktestResult.table` (seed means) or ``.spread()`` (seed standard
deviations). Strategy names are unique; every metric value is finite; ``n_seeds`` is at least 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from hrl_sarp.domain import METRIC_NAMES, HrlSarpError


class BacktestTableError(HrlSarpError):
    """The backtest results table broke its schema; the message names the columns and checks."""


def _finite(series: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(series.to_numpy(dtype=np.float64)), index=series.index)


BACKTEST_TABLE = pa.DataFrameSchema(
    {
        "strategy": pa.Column(str, unique=True, nullable=False),
        "n_seeds": pa.Column(int, pa.Check.ge(1), coerce=True),
        **{
            name: pa.Column(float, pa.Check(_finite, name="finite", element_wise=False), nullable=False, coerce=True)
            for name in METRIC_NAMES
        },
    },
    strict=True,
    ordered=True,
    name="backtest_results",
)


def validate_backtest_table(table: pd.DataFrame) -> pd.DataFrame:
    """Validate lazily; raise :class:`BacktestTableError` naming each failing column and check."""
    try:
        return BACKTEST_TABLE.validate(table, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        parts = sorted({f"column '{c}' failed '{k}'" for c, k in zip(cases["column"], cases["check"], strict=True)})
        raise BacktestTableError("backtest results table invalid: " + "; ".join(parts)) from None
