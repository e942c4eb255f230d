"""Deterministic small FeatureArrays for environment tests (test data only, seeded)."""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp.features.arrays import FeatureArrays
from tests.feature_arrays import assemble_feature_arrays, prices_from_returns

FEATURE_NAMES = ("return_1d", "volatility_20d", "pe_zscore", "market_cap_log")
MACRO_NAMES = ("india_vix", "nifty_return_4w", "regime_label_prev")


def make_feature_arrays(
    n_dates: int = 120, n_stocks: int = 8, n_sectors: int = 3, seed: int = 0, vol: float = 0.01
) -> FeatureArrays:
    """T dates, N stocks round-robin over S sectors; seeded returns, opens between the two closes."""
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2020-01-01") + np.arange(n_dates).astype("timedelta64[D]")
    rets = rng.normal(0.0005, vol, size=(n_dates, n_stocks))
    rets[0] = 0.0
    close, open_ = prices_from_returns(rets, rng.uniform(0.2, 0.8, size=(n_dates, n_stocks)))
    features = np.zeros((n_dates, n_stocks, len(FEATURE_NAMES)))
    features[:, :, 0] = rets
    features[:, :, 1] = vol
    features[:, :, 2] = np.linspace(-1.5, 1.5, n_stocks)[None, :] + 0.1 * np.sin(np.arange(n_dates))[:, None]
    features[:, :, 3] = np.log(close)
    macro = np.stack(
        [20 + np.sin(np.arange(n_dates) / 7), np.cos(np.arange(n_dates) / 11), np.arange(n_dates) % 3], axis=1
    ).astype(float)
    return assemble_feature_arrays(
        build_id=f"test-{seed}",
        dates=dates,
        rets=rets,
        close=close,
        open_=open_,
        n_sectors=n_sectors,
        benchmark=rets.mean(axis=1),
        regime_threshold=0.02,
        week_end_index=np.arange(4, n_dates, 5),
        features=features,
        feature_names=FEATURE_NAMES,
        macro=macro,
        macro_names=MACRO_NAMES,
    )


def sector_embeddings_from(arrays: FeatureArrays, dim: int = 4) -> np.ndarray:
    """(W, S, D) deterministic embeddings derived from the data: trailing sector return statistics per week."""
    rows = []
    for t in arrays.week_end_index:
        window = arrays.sector_returns[max(0, t - 19) : t + 1]
        stats = [window.mean(0), window.std(0), window[-5:].sum(0), window.min(0)]
        rows.append(np.stack(stats[:dim], axis=1))
    return np.asarray(rows)


@pytest.fixture
def arrays() -> FeatureArrays:
    return make_feature_arrays()


@pytest.fixture
def make_arrays():
    return make_feature_arrays


@pytest.fixture
def embeddings_from():
    return sector_embeddings_from
