"""The one assembler of synthetic :class:`FeatureArrays` for tests: prices, sector returns, regimes and labels derived
from a (T, N) matrix of daily stock returns the caller draws (test data only).

``tests/envs/conftest.py`` and ``tests/backtest/conftest.py`` draw their own seeded returns and features and pass
them here, so both get the same derivations (opens between the two closes, equal-weighted sector returns, regimes of
the trailing five sessions, five-session forward returns).
"""

from __future__ import annotations

import numpy as np

from hrl_sarp.features.arrays import FeatureArrays

FORWARD_DAYS = 5
REGIME_DAYS = 5


def prices_from_returns(rets: np.ndarray, overnight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(close, open), both (T, N): closes compound ``rets`` (T, N) from 100 x (1 + 0.1 i); the open of t moves the
    share ``overnight`` (T, N) in [0, 1] of day t's return from the previous close (row 0 opens at its close)."""
    n_stocks = rets.shape[1]
    close = 100.0 * (1.0 + 0.1 * np.arange(n_stocks)) * np.cumprod(1.0 + rets, axis=0)
    prev = np.vstack([close[:1], close[:-1]])
    open_ = prev * (1.0 + overnight * rets)
    open_[0] = close[0]
    return close, open_


def assemble_feature_arrays(
    build_id: str,
    dates: np.ndarray,
    rets: np.ndarray,
    close: np.ndarray,
    open_: np.ndarray,
    n_sectors: int,
    benchmark: np.ndarray,
    regime_threshold: float,
    week_end_index: np.ndarray,
    features: np.ndarray,
    feature_names: tuple[str, ...],
    macro: np.ndarray,
    macro_names: tuple[str, ...],
) -> FeatureArrays:
    """FeatureArrays of N stocks round-robin over S sectors, all tradable, ADV rising with the stock index.

    dates (T,); rets, close, open_ (T, N); benchmark (T,) daily returns; regime: Bull / Bear when the compounded
    benchmark return of the trailing ``REGIME_DAYS`` rows is above / below +-``regime_threshold``; features
    (T, N, F); macro (T, M); week_end_index (W,).
    """
    n_dates, n_stocks = rets.shape
    symbols = np.array([f"S{i:03d}" for i in range(n_stocks)])
    sectors = np.array([f"SEC{s}" for s in range(n_sectors)])
    stock_sector = (np.arange(n_stocks) % n_sectors).astype(np.int64)
    member = np.zeros((n_sectors, n_stocks))
    member[stock_sector, np.arange(n_stocks)] = 1.0
    sector_returns = (member @ rets.T).T / member.sum(axis=1)
    weekly = np.array([np.prod(1 + benchmark[max(0, t - REGIME_DAYS + 1) : t + 1]) - 1 for t in range(n_dates)])
    regimes = np.where(weekly > regime_threshold, 0, np.where(weekly < -regime_threshold, 1, 2)).astype(np.int64)
    forward = np.full((n_dates, n_stocks), np.nan)
    forward[:-FORWARD_DAYS] = close[FORWARD_DAYS:] / close[:-FORWARD_DAYS] - 1
    return FeatureArrays(
        build_id=build_id,
        dates=dates,
        symbols=symbols,
        sectors=sectors,
        stock_sector=stock_sector,
        stock_features=features,
        stock_feature_names=feature_names,
        macro=macro,
        macro_names=macro_names,
        close=close,
        open=open_,
        stock_returns=rets,
        tradable=np.ones((n_dates, n_stocks), dtype=bool),
        adv_value=np.tile(1e6 * (1.0 + np.arange(n_stocks)), (n_dates, 1)),
        sector_returns=sector_returns,
        sector_returns_cap=sector_returns,
        benchmark_returns=benchmark,
        regime_labels=regimes,
        week_end_index=np.asarray(week_end_index, dtype=np.int64),
        forward_returns=forward,
    )
