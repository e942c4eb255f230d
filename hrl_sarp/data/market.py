"""The raw-market contract every source produces and the warehouse loads.

All frames use plain columns (no index); dates are ``datetime64[ns]`` normalised to midnight. Column sets are
fixed here so that sources, validation and the warehouse agree on one layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import pandas as pd

SECURITIES_COLUMNS = ["symbol", "sector", "name", "kind", "listed_on", "delisted_on"]
PRICES_COLUMNS = ["date", "symbol", "open", "high", "low", "close", "adj_close", "volume", "delivery_pct"]
MACRO_COLUMNS = ["date", "series", "value", "available_at"]
FUNDAMENTALS_COLUMNS = ["symbol", "period_end", "field", "value", "available_at"]
SENTIMENT_COLUMNS = ["date", "sector", "value", "available_at"]
EVENTS_COLUMNS = ["date", "event"]

TABLE_COLUMNS: dict[str, list[str]] = {
    "securities": SECURITIES_COLUMNS,
    "prices": PRICES_COLUMNS,
    "macro": MACRO_COLUMNS,
    "fundamentals": FUNDAMENTALS_COLUMNS,
    "sentiment": SENTIMENT_COLUMNS,
    "events": EVENTS_COLUMNS,
}

# Natural keys: one row per key in the warehouse.
TABLE_KEYS: dict[str, list[str]] = {
    "securities": ["symbol"],
    "prices": ["symbol", "date"],
    "macro": ["series", "date"],
    "fundamentals": ["symbol", "period_end", "field"],
    "sentiment": ["sector", "date"],
    "events": ["date", "event"],
}

# Macro series names the feature builder understands (a source may supply any subset).
MACRO_SERIES = [
    "india_vix",
    "fii_flow",
    "dii_flow",
    "usd_inr",
    "brent",
    "repo_rate",
    "yield_10y",
    "yield_2y",
    "credit_spread",
    "pcr",
    "fno_oi",
    "advances",
    "declines",
]

# Fundamental fields the feature builder understands (a source may supply any subset).
FUNDAMENTAL_FIELDS = [
    "eps",
    "eps_estimate",
    "book_value_ps",
    "roe",
    "roce",
    "debt_to_equity",
    "ebitda",
    "net_debt",
    "shares_outstanding",
    "promoter_pledge_pct",
    "free_float_pct",
    "fii_holding_pct",
    "analyst_rating",
]


def empty_frame(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in TABLE_COLUMNS[table]})


@dataclass
class RawMarket:
    """One batch of raw data from a source, in the warehouse's column layout."""

    securities: pd.DataFrame = field(default_factory=lambda: empty_frame("securities"))
    prices: pd.DataFrame = field(default_factory=lambda: empty_frame("prices"))
    macro: pd.DataFrame = field(default_factory=lambda: empty_frame("macro"))
    fundamentals: pd.DataFrame = field(default_factory=lambda: empty_frame("fundamentals"))
    sentiment: pd.DataFrame = field(default_factory=lambda: empty_frame("sentiment"))
    events: pd.DataFrame = field(default_factory=lambda: empty_frame("events"))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def row_counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables().items()}


@dataclass
class Rejection:
    """A rejected input row (or whole file, when ``row`` is None) with the reason."""

    source: str
    table: str
    file: str | None
    row: int | None
    column: str | None
    reason: str
    payload: dict = field(default_factory=dict)

    def message(self) -> str:
        from hrl_sarp.errors import format_location

        return format_location(self.file, self.row, self.column, self.reason)
