"""The ridge baseline: a linear forecast of next week's sector returns, fitted per fold on data before it."""

import dataclasses

import numpy as np
import pytest

from hrl_sarp.backtest.ridge import RidgeStrategy, fit_ridge, weekly_sector_labels
from hrl_sarp.backtest.splits import walk_forward_splits
from hrl_sarp.config import BacktestConfig, Config
from tests.training.conftest import make_arrays


def test_fit_ridge_recovers_a_linear_map_without_penalty():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(200, 4))
    beta = rng.normal(size=(4, 2))
    y = 0.5 + x @ beta
    mean, scale, coef = fit_ridge(x, y, 0.0)
    forecast = np.hstack([np.ones((200, 1)), (x - mean) / scale]) @ coef
    np.testing.assert_allclose(forecast, y, atol=1e-9)


def test_ridge_tilts_along_the_planted_drift_with_data_up_to_t_only():
    arrays = make_arrays(n_weeks=150, n_sectors=3)
    plan = walk_forward_splits(arrays.dates, BacktestConfig(train_days=400, test_days=150, embargo_days=5))
    cfg = Config()
    strategy = RidgeStrategy(arrays, cfg, plan)
    rows, labels = weekly_sector_labels(arrays)
    assert labels.sum(axis=1) == pytest.approx(np.zeros(len(rows)), abs=1e-12)
    decisions = [int(t) for t in arrays.week_end_index if plan.test_start - 1 <= t < plan.test_end - 1]
    loadings = np.linspace(1.0, -1.0, 3)
    agree = [np.corrcoef(strategy.forecast(t), loadings * arrays.macro[t, 1])[0, 1] for t in decisions]
    assert np.median(agree) > 0.9  # it learnt the planted map: drift = loading x macro[t-1, 1]
    weights = strategy.weights(arrays, decisions[3])
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    # changing everything after t leaves the decision at t unchanged
    t = decisions[3]
    later = dataclasses.replace(arrays, macro=arrays.macro.copy(), sector_returns=arrays.sector_returns.copy())
    later.macro[t + 1 :] += 5.0
    later.sector_returns[t + 1 :] *= -1
    np.testing.assert_allclose(RidgeStrategy(later, cfg, plan).forecast(t), strategy.forecast(t), rtol=1e-12)
