"""Pandera models for the raw tables of :mod:`hrl_sarp.data.market` (one model per warehouse raw table).

They state the contract a validated batch meets before it is loaded: exact columns, dtypes (dates
``datetime64[ns]`` at midnight, floats ``float64``, strings), nullability, value ranges, point-in-time order
(``available_at`` never before the observation) and natural-key uniqueness. :mod:`hrl_sarp.data.validation` runs
them lazily on every source's batch and maps each failure case back to the offending input row.

Check names are part of the contract: validation turns them into human reasons (see ``REASONS`` there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from hrl_sarp.domain import TABLE_KEYS

SECURITY_KINDS = ["stock", "index"]

# OHLC bars whose open/close poke outside [low, high] by at most this relative amount are rounding noise
# (validation widens high/low to cover them); beyond it the bar is rejected.
OHLC_TOLERANCE = 1e-3


# Values a known macro series or fundamentals field can take (inclusive; None = unbounded). The features
# divide by these levels or read them as shares, so a value outside its domain is a data error, quarantined at
# ingestion. Series not listed (brent, flows, rates, ...) may take any finite value: crude traded below zero in 2020.
VALUE_DOMAINS: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "macro": {
        "india_vix": (0.0, None),
        "usd_inr": (0.0, None),
        "pcr": (0.0, None),
        "fno_oi": (0.0, None),
        "advances": (0.0, None),
        "declines": (0.0, None),
    },
    "fundamentals": {
        "shares_outstanding": (0.0, None),
        "promoter_pledge_pct": (0.0, 100.0),
        "free_float_pct": (0.0, 100.0),
        "fii_holding_pct": (0.0, 100.0),
    },
}


def _not_before(df: pd.DataFrame, later: str, earlier: str) -> pd.Series:
    return df[later] >= df[earlier]


def in_domain(df: pd.DataFrame, table: str, key: str) -> pd.Series:
    """True for rows whose ``value`` lies in the :data:`VALUE_DOMAINS` range of its series/field ``df[key]``."""
    ok = pd.Series(True, index=df.index)
    for name, (low, high) in VALUE_DOMAINS[table].items():
        rows = df[key].eq(name)
        if low is not None:
            ok &= ~rows | (df["value"] >= low)
        if high is not None:
            ok &= ~rows | (df["value"] <= high)
    return ok


class SecuritiesSchema(pa.DataFrameModel):
    """One row per symbol. ``kind`` is ``stock`` or ``index`` (the benchmark is an index row). Every stock has a
    sector; an index needs none (its sector, if given, is ignored: an index never counts as a sector member)."""

    symbol: Series[str] = pa.Field(str_length={"min_value": 1})
    sector: Series[str] = pa.Field(str_length={"min_value": 1}, nullable=True)
    name: Series[str] = pa.Field(nullable=True)
    kind: Series[str] = pa.Field(isin=SECURITY_KINDS)
    listed_on: Series[pd.Timestamp] = pa.Field(nullable=True)
    delisted_on: Series[pd.Timestamp] = pa.Field(nullable=True)

    @pa.dataframe_check(name="stock_has_sector")
    @classmethod
    def _stock_has_sector(cls, df: pd.DataFrame) -> pd.Series:
        return df["sector"].notna() | df["kind"].eq("index")

    @pa.dataframe_check(name="delisted_not_before_listed")
    @classmethod
    def _delisted_not_before_listed(cls, df: pd.DataFrame) -> pd.Series:
        return _not_before(df, "delisted_on", "listed_on") | df["delisted_on"].isna() | df["listed_on"].isna()

    class Config:
        strict = True
        unique = TABLE_KEYS["securities"]


class PricesSchema(pa.DataFrameModel):
    """Daily bars. Prices are strictly positive; open/high/low/adj_close are filled (from close) before this."""

    date: Series[pd.Timestamp]
    symbol: Series[str] = pa.Field(str_length={"min_value": 1})
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    adj_close: Series[float] = pa.Field(gt=0)
    volume: Series[float] = pa.Field(ge=0, nullable=True)
    delivery_pct: Series[float] = pa.Field(ge=0, le=100, nullable=True)

    @pa.dataframe_check(name="ohlc_consistent")
    @classmethod
    def _ohlc_consistent(cls, df: pd.DataFrame) -> pd.Series:
        slack_high = df["high"] * (1 + OHLC_TOLERANCE)
        slack_low = df["low"] * (1 - OHLC_TOLERANCE)
        return (
            (df["low"] <= df["high"])
            & (df["open"] <= slack_high)
            & (df["close"] <= slack_high)
            & (df["open"] >= slack_low)
            & (df["close"] >= slack_low)
        )

    class Config:
        strict = True
        unique = TABLE_KEYS["prices"]


class _FiniteValues(pa.DataFrameModel):
    """Base of the long tables with a numeric ``value`` column (declared by each table, which keeps the column
    order of its contract): the value must be finite (not NaN, not inf)."""

    @pa.check("value", name="finite")
    @classmethod
    def _finite(cls, values: pd.Series) -> pd.Series:
        return pd.Series(np.isfinite(values.to_numpy()), index=values.index)


class MacroSchema(_FiniteValues):
    """Daily macro observations; ``available_at`` is the first date the value is public (>= ``date``)."""

    date: Series[pd.Timestamp]
    series: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[float]
    available_at: Series[pd.Timestamp]

    @pa.dataframe_check(name="available_not_before_date")
    @classmethod
    def _available_after(cls, df: pd.DataFrame) -> pd.Series:
        return _not_before(df, "available_at", "date")

    @pa.dataframe_check(name="value_in_domain")
    @classmethod
    def _in_domain(cls, df: pd.DataFrame) -> pd.Series:
        return in_domain(df, "macro", "series")

    class Config:
        strict = True
        unique = TABLE_KEYS["macro"]


class FundamentalsSchema(_FiniteValues):
    """Quarterly (or any period) fundamentals; released at ``available_at`` (>= ``period_end``)."""

    symbol: Series[str] = pa.Field(str_length={"min_value": 1})
    period_end: Series[pd.Timestamp]
    field: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[float]
    available_at: Series[pd.Timestamp]

    @pa.dataframe_check(name="available_not_before_period_end")
    @classmethod
    def _available_after(cls, df: pd.DataFrame) -> pd.Series:
        return _not_before(df, "available_at", "period_end")

    @pa.dataframe_check(name="value_in_domain")
    @classmethod
    def _in_domain(cls, df: pd.DataFrame) -> pd.Series:
        return in_domain(df, "fundamentals", "field")

    class Config:
        strict = True
        unique = TABLE_KEYS["fundamentals"]


class SentimentSchema(pa.DataFrameModel):
    """Sector news sentiment in [-1, 1], public at ``available_at`` (>= ``date``)."""

    date: Series[pd.Timestamp]
    sector: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[float] = pa.Field(ge=-1, le=1)
    available_at: Series[pd.Timestamp]

    @pa.dataframe_check(name="available_not_before_date")
    @classmethod
    def _available_after(cls, df: pd.DataFrame) -> pd.Series:
        return _not_before(df, "available_at", "date")

    class Config:
        strict = True
        unique = TABLE_KEYS["sentiment"]


class EventsSchema(pa.DataFrameModel):
    """Scheduled events (RBI_MPC, BUDGET, ...), one row per (date, event)."""

    date: Series[pd.Timestamp]
    event: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        unique = TABLE_KEYS["events"]


RAW_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "securities": SecuritiesSchema,
    "prices": PricesSchema,
    "macro": MacroSchema,
    "fundamentals": FundamentalsSchema,
    "sentiment": SentimentSchema,
    "events": EventsSchema,
}
