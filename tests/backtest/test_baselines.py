import dataclasses

import numpy as np
import pytest
from scipy.optimize import minimize

from hrl_sarp.backtest import baselines as bl
from hrl_sarp.config import BacktestConfig, RiskConfig

PER_ROW = (
    "close", "open", "stock_returns", "tradable", "adv_value", "stock_features", "macro", "sector_returns",
    "sector_returns_cap", "benchmark_returns", "regime_labels", "forward_returns",
)  # fmt: skip


def _perturb_after(arrays, t, seed=99):
    """Every per-date array changed at rows > t (and forward labels everywhere)."""
    rng = np.random.default_rng(seed)
    changes = {}
    for name in PER_ROW:
        value = np.array(getattr(arrays, name), copy=True)
        if value.dtype == bool:
            value[t + 1 :] = rng.random(value[t + 1 :].shape) < 0.5
        elif value.dtype.kind == "i":
            value[t + 1 :] = rng.integers(0, 3, value[t + 1 :].shape)
        else:
            value[t + 1 :] = value[t + 1 :] * rng.uniform(0.5, 1.5, value[t + 1 :].shape) + rng.normal(
                0, 0.05, value[t + 1 :].shape
            )
        changes[name] = value
    changes["forward_returns"] = np.random.default_rng(seed).normal(size=arrays.forward_returns.shape)
    return dataclasses.replace(arrays, **changes)


@pytest.mark.parametrize("strategy", bl.make_baselines(BacktestConfig(momentum_lookback_days=60), RiskConfig()))
def test_no_lookahead_perturbing_later_data_changes_no_weight(arrays, strategy):
    for t in (0, 3, 150, 300):
        before = strategy.weights(arrays, t, 5)
        after = strategy.weights(_perturb_after(arrays, t), t, 5)
        np.testing.assert_array_equal(before, after)
        assert before.sum() == pytest.approx(1.0) and (before >= 0).all()


def test_equal_weight_covers_eligible_names_only(arrays):
    tradable = arrays.tradable.copy()
    tradable[10, [1, 4]] = False
    adv = arrays.adv_value.copy()
    adv[10, 7] = 10.0
    a = dataclasses.replace(arrays, tradable=tradable, adv_value=adv)
    w = bl.equal_weight(a, 10, min_adv_value=1000.0)
    assert w[[1, 4, 7]].tolist() == [0, 0, 0]
    np.testing.assert_allclose(np.delete(w, [1, 4, 7]), 1 / 9)


def test_momentum_picks_the_top_tercile_by_trailing_return(make_arrays):
    a = make_arrays(n_dates=50, n_stocks=9, n_sectors=3)
    rets = np.zeros_like(a.stock_returns)
    rets[30:41] = np.array([0.001, 0.004, -0.002, 0.003, 0.0, 0.002, -0.001, 0.005, 0.0])
    rets[41:] = 0.5  # after t: must not matter
    a = dataclasses.replace(a, stock_returns=rets)
    w = bl.momentum(a, 40, lookback=20)
    np.testing.assert_allclose(w, [0, 1 / 3, 0, 1 / 3, 0, 0, 0, 1 / 3, 0])


def test_shrunk_covariance_matches_ledoit_wolf(arrays):
    x = arrays.stock_returns[1:130]
    sk = pytest.importorskip("sklearn.covariance")
    np.testing.assert_allclose(bl.shrunk_covariance(x), sk.LedoitWolf().fit(x).covariance_, rtol=1e-10, atol=1e-14)


def test_min_variance_matches_a_general_solver(arrays):
    cov = bl.shrunk_covariance(arrays.stock_returns[1:100])
    w = bl.min_variance_weights(cov)
    n = cov.shape[0]
    ref = minimize(
        lambda v: v @ cov @ v * 1e4,
        np.full(n, 1 / n),
        jac=lambda v: 2e4 * cov @ v,
        bounds=[(0, 1)] * n,
        constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    ).x
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert w @ cov @ w <= ref @ cov @ ref * (1 + 1e-8)
    np.testing.assert_allclose(w, ref, atol=1e-5)


def test_risk_parity_equalises_risk_contributions(arrays):
    cov = bl.shrunk_covariance(arrays.stock_returns[1:100])
    w = bl.risk_parity_weights(cov)
    contrib = w * (cov @ w)
    np.testing.assert_allclose(contrib / contrib.sum(), 1 / len(w), rtol=1e-9)
    assert w.sum() == pytest.approx(1.0)
    diag = np.diag([1.0, 4.0, 16.0])  # uncorrelated: weights proportional to 1 / vol
    np.testing.assert_allclose(bl.risk_parity_weights(diag), np.array([4, 2, 1]) / 7, rtol=1e-10)


def test_random_weights_are_seeded_per_seed_and_date(arrays):
    a = bl.random_weights(arrays, 50, seed=1)
    np.testing.assert_array_equal(a, bl.random_weights(arrays, 50, seed=1))
    assert not np.allclose(a, bl.random_weights(arrays, 50, seed=2))
    assert not np.allclose(a, bl.random_weights(arrays, 51, seed=1))
    assert a.sum() == pytest.approx(1.0)


def test_no_eligible_names_gives_cash(arrays):
    a = dataclasses.replace(arrays, tradable=np.zeros_like(arrays.tradable))
    for strategy in bl.make_baselines(BacktestConfig(), RiskConfig()):
        assert strategy.weights(a, 100, 0).sum() == 0.0
