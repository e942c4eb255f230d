"""Deterministic FeatureArrays for backtest tests (seeded test data, business-day calendar)."""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp.features.arrays import FeatureArrays


def make_backtest_arrays(
    n_dates: int = 400, n_stocks: int = 12, n_sectors: int = 4, seed: int = 0, vol: float = 0.012
) -> FeatureArrays:
    """T business days from 2020-01-01, N stocks round-robin over S sectors, a factor + idiosyncratic returns."""
    rng = np.random.default_rng(seed)
    dates = np.busday_offset(np.datetime64("2020-01-01"), np.arange(n_dates), roll="forward")
    symbols = np.array([f"S{i:03d}" for i in range(n_stocks)])
    sectors = np.array([f"SEC{s}" for s in range(n_sectors)])
    stock_sector = (np.arange(n_stocks) % n_sectors).astype(np.int64)
    market = rng.normal(0.0003, 0.008, size=n_dates)
    beta = np.linspace(0.5, 1.5, n_stocks)
    rets = market[:, None] * beta[None, :] + rng.normal(0.0002, vol, size=(n_dates, n_stocks))
    rets[0] = 0.0
    close = 100.0 * (1.0 + 0.1 * np.arange(n_stocks)) * np.cumprod(1.0 + rets, axis=0)
    prev = np.vstack([close[:1], close[:-1]])
    open_ = prev * (1.0 + rng.uniform(0.2, 0.8, size=(n_dates, n_stocks)) * rets)
    open_[0] = close[0]
    member = np.zeros((n_sectors, n_stocks))
    member[stock_sector, np.arange(n_stocks)] = 1.0
    sector_returns = (member @ rets.T).T / member.sum(axis=1)
    bench = market.copy()
    bench[0] = 0.0
    weekly = np.array([np.prod(1 + bench[max(0, t - 4) : t + 1]) - 1 for t in range(n_dates)])
    regimes = np.where(weekly > 0.01, 0, np.where(weekly < -0.01, 1, 2)).astype(np.int64)
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    week_end = np.flatnonzero(np.r_[weekday[1:] <= weekday[:-1], True])
    forward = np.full((n_dates, n_stocks), np.nan)
    forward[:-5] = close[5:] / close[:-5] - 1
    features = np.stack([rets, np.log(close)], axis=2)
    macro = np.stack([np.sin(np.arange(n_dates) / 7), np.cos(np.arange(n_dates) / 11)], axis=1)
    return FeatureArrays(
        build_id=f"bt-{seed}",
        dates=dates,
        symbols=symbols,
        sectors=sectors,
        stock_sector=stock_sector,
        stock_features=features,
        stock_feature_names=("return_1d", "log_close"),
        macro=macro,
        macro_names=("m1", "m2"),
        close=close,
        open=open_,
        stock_returns=rets,
        tradable=np.ones((n_dates, n_stocks), dtype=bool),
        adv_value=np.tile(1e6 * (1.0 + np.arange(n_stocks)), (n_dates, 1)),
        sector_returns=sector_returns,
        sector_returns_cap=sector_returns,
        benchmark_returns=bench,
        regime_labels=regimes,
        week_end_index=week_end.astype(np.int64),
        forward_returns=forward,
    )


@pytest.fixture
def make_arrays():
    return make_backtest_arrays


@pytest.fixture
def arrays() -> FeatureArrays:
    return make_backtest_arrays()
