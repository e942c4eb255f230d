"""A small hand-built feature build with planted, learnable signals (no warehouse, no GNN).

- Regime: a persistent weekly Markov chain; macro[:, 0] is a noisy read of the current regime.
- Sectors: daily sector drift = loading_s * macro[t-1, 1] (loadings +1, -1, 0), so week-end macro predicts next
  week's sector ranking.
- Stocks: daily stock return = sector return + alpha * stock_features[t-1, i, 0], so the feature predicts the
  forward return inside each sector.
- Embeddings: sector one-hot plus the trailing week's sector return; the first 8 weeks have none (GNN warm-up).
"""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp.features.arrays import FeatureArrays


def make_arrays(n_weeks: int = 150, seed: int = 0, n_sectors: int = 3, stocks_per_sector: int = 2) -> FeatureArrays:
    rng = np.random.default_rng(seed)
    T, S = n_weeks * 5, n_sectors
    N, F, M = S * stocks_per_sector, 4, 3
    dates = np.busday_offset(np.datetime64("2020-01-06"), np.arange(T), roll="forward").astype("datetime64[D]")
    week_of_row = np.arange(T) // 5
    regime_w = np.zeros(n_weeks, dtype=np.int64)
    for w in range(1, n_weeks):
        regime_w[w] = regime_w[w - 1] if rng.random() < 0.85 else rng.integers(3)
    regime = regime_w[week_of_row]
    signal = np.array([1.0, -1.0, 0.0])[regime]
    macro = np.zeros((T, M))
    for t in range(1, T):
        macro[t] = 0.95 * macro[t - 1] + 0.3 * rng.standard_normal(M)
    macro[:, 0] = signal + 0.3 * rng.standard_normal(T)
    loadings = np.linspace(1.0, -1.0, S)
    drift = np.vstack([np.zeros((1, S)), 0.003 * macro[:-1, 1:2] * loadings])
    regime_drift = np.array([0.002, -0.003, 0.0])[regime][:, None]
    sector_returns = drift + regime_drift + 0.006 * rng.standard_normal((T, S))
    stock_sector = np.repeat(np.arange(S), stocks_per_sector)
    stock_features = rng.standard_normal((T, N, F))
    alpha = np.vstack([np.zeros((1, N)), 0.004 * stock_features[:-1, :, 0]])
    stock_returns = sector_returns[:, stock_sector] + alpha + 0.004 * rng.standard_normal((T, N))
    close = 100 * np.cumprod(1 + stock_returns, axis=0)
    h = 5
    log_cum = np.vstack([np.zeros((1, N)), np.cumsum(np.log1p(stock_returns), axis=0)])
    forward = np.full((T, N), np.nan)
    forward[: T - h] = np.expm1(log_cum[h + 1 :] - log_cum[1 : T - h + 1])
    tradable = np.ones((T, N), dtype=bool)
    tradable[:40, 0] = False  # a late listing
    return FeatureArrays(
        build_id="tiny",
        dates=dates,
        symbols=np.array([f"S{i}" for i in range(N)]),
        sectors=np.array([f"SEC{s}" for s in range(S)]),
        stock_sector=stock_sector,
        stock_features=stock_features,
        stock_feature_names=tuple(f"f{i}" for i in range(F)),
        macro=macro,
        macro_names=tuple(f"m{i}" for i in range(M)),
        close=close,
        open=close,
        stock_returns=stock_returns,
        tradable=tradable,
        adv_value=np.full((T, N), 1e7),
        sector_returns=sector_returns,
        sector_returns_cap=sector_returns,
        benchmark_returns=sector_returns.mean(axis=1),
        regime_labels=regime,
        week_end_index=np.arange(4, T, 5),
        forward_returns=forward,
    )


def make_embeddings(arrays: FeatureArrays, warmup_weeks: int = 8, dim: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """``(week_dates (W_e,), embeddings (W_e, S, dim))`` for the weeks after the warm-up."""
    ends = arrays.week_end_index
    S = arrays.n_sectors
    trailing = np.add.reduceat(arrays.sector_returns, np.arange(0, arrays.n_dates, 5), axis=0)[: len(ends)]
    emb = np.zeros((len(ends), S, dim))
    emb[:, :, :S] = np.eye(S)
    emb[:, :, S] = 10 * trailing
    return arrays.dates[ends][warmup_weeks:], emb[warmup_weeks:]


@pytest.fixture(scope="session")
def tiny_arrays() -> FeatureArrays:
    return make_arrays()


@pytest.fixture(scope="session")
def tiny_embeddings(tiny_arrays):
    return make_embeddings(tiny_arrays)
