"""A small deterministic market of correlated sector returns for GNN tests.

Per-symbol returns from a factor model (market + sector + idiosyncratic) whose sector drifts load on lagged
AR(1) macro series, aggregated to equal-weight sector means per date (never pct_change across stacked symbols).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SectorMarket:
    dates: np.ndarray  # (T,) datetime64[D]
    sectors: np.ndarray  # (S,)
    sector_returns: np.ndarray  # (T, S)
    benchmark_returns: np.ndarray  # (T,)
    week_end_index: np.ndarray  # (W,)
    macro: np.ndarray  # (T, M)
    macro_names: tuple[str, ...]


def make_sector_market(
    seed: int = 3, years: float = 6.0, n_sectors: int = 6, stocks_per_sector: int = 4, n_macro: int = 3
) -> SectorMarket:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2016-01-01", periods=int(252 * years))
    n_days = len(dates)
    macro = np.zeros((n_days, n_macro))
    for t in range(1, n_days):
        macro[t] = 0.98 * macro[t - 1] + rng.normal(0, 0.2, n_macro)
    loadings = rng.normal(0, 1.0, (n_sectors, n_macro))
    lagged = np.vstack([np.zeros((5, n_macro)), macro[:-5]])
    drift = 0.0004 * lagged @ loadings.T  # (T, S) planted, from macro known 5 days earlier
    market = rng.standard_t(5, n_days) * 0.006
    sector_factor = rng.normal(0, 0.008, (n_days, n_sectors))
    n_stocks = n_sectors * stocks_per_sector
    stock_sector = np.repeat(np.arange(n_sectors), stocks_per_sector)
    stock_ret = (
        drift[:, stock_sector]
        + market[:, None] * rng.uniform(0.7, 1.3, n_stocks)
        + sector_factor[:, stock_sector]
        + rng.normal(0, 0.01, (n_days, n_stocks))
    )
    close = 100 * np.cumprod(1 + stock_ret, axis=0)
    symbols = [f"S{i:03d}" for i in range(n_stocks)]
    long = pd.DataFrame(close, index=dates, columns=symbols).stack().rename("close").reset_index()
    long.columns = ["date", "symbol", "close"]
    long["sector"] = long["symbol"].map(dict(zip(symbols, stock_sector, strict=True)))
    long = long.sort_values(["symbol", "date"])
    long["ret"] = long.groupby("symbol")["close"].pct_change().fillna(0.0)
    sector_returns = long.pivot_table(index="date", columns="sector", values="ret", aggfunc="mean").to_numpy()
    benchmark = sector_returns.mean(axis=1)
    week = dates.to_period("W-FRI")
    week_end_index = np.flatnonzero(np.r_[week[1:] != week[:-1], True])
    return SectorMarket(
        dates=dates.to_numpy().astype("datetime64[D]"),
        sectors=np.array([f"Sec{k}" for k in range(n_sectors)]),
        sector_returns=sector_returns,
        benchmark_returns=benchmark,
        week_end_index=week_end_index.astype(np.int64),
        macro=macro,
        macro_names=tuple(f"m{k}" for k in range(n_macro)),
    )
