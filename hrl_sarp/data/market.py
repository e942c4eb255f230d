"""The raw-market contract every source produces and the warehouse loads.

All frames use plain columns (no index); dates are ``datetime64[ns]`` normalised to midnight. Column sets are
fixed once in :mod:`hrl_sarp.domain` (``TABLE_COLUMNS``, ``TABLE_KEYS``) so that sources, validation and the
warehouse agree on one layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import pandas as pd

from hrl_sarp.domain import TABLE_COLUMNS


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
