"""Deterministic FeatureArrays for backtest tests (seeded test data, business-day calendar)."""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp.features.arrays import FeatureArrays
from tests.feature_arrays import assemble_feature_arrays, prices_from_returns


def make_backtest_arrays(
    n_dates: int = 400, n_stocks: int = 12, n_sectors: int = 4, seed: int = 0, vol: float = 0.012
) -> FeatureArrays:
    """T business days from 2020-01-01, N stocks round-robin over S sectors, a factor + idiosyncratic returns."""
    rng = np.random.default_rng(seed)
    dates = np.busday_offset(np.datetime64("2020-01-01"), np.arange(n_dates), roll="forward")
    market = rng.normal(0.0003, 0.008, size=n_dates)
    beta = np.linspace(0.5, 1.5, n_stocks)
    rets = market[:, None] * beta[None, :] + rng.normal(0.0002, vol, size=(n_dates, n_stocks))
    rets[0] = 0.0
    close, open_ = prices_from_returns(rets, rng.uniform(0.2, 0.8, size=(n_dates, n_stocks)))
    bench = market.copy()
    bench[0] = 0.0
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    week_end = np.flatnonzero(np.r_[weekday[1:] <= weekday[:-1], True])
    macro = np.stack([np.sin(np.arange(n_dates) / 7), np.cos(np.arange(n_dates) / 11)], axis=1)
    return assemble_feature_arrays(
        build_id=f"bt-{seed}",
        dates=dates,
        rets=rets,
        close=close,
        open_=open_,
        n_sectors=n_sectors,
        benchmark=bench,
        regime_threshold=0.01,
        week_end_index=week_end,
        features=np.stack([rets, np.log(close)], axis=2),
        feature_names=("return_1d", "log_close"),
        macro=macro,
        macro_names=("m1", "m2"),
    )


@pytest.fixture
def make_arrays():
    return make_backtest_arrays


@pytest.fixture
def arrays() -> FeatureArrays:
    return make_backtest_arrays()
