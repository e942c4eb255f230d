"""Baseline strategies as target-weight functions over data known at the close of row t.

Every weight function has the signature ``fn(arrays, t, seed) -> (N,)`` non-negative target weights summing to 1
over the names eligible at t (or all zeros when none is). It reads only rows ``<= t`` of ``arrays`` (the timing rule
of SPEC: decide on data up to close t); ``tests/backtest/test_baselines.py`` proves it by perturbing later rows.
The shared simulator then applies the stock/sector caps, minimum cash, CVaR budget and drawdown gate, so every
strategy faces the same constraints and costs.

The benchmark buy-and-hold is not a weight function: the benchmark is an index, not a tradable stock, so the engine
uses its return series directly (fully invested, no costs; see :func:`hrl_sarp.backtest.engine.run_benchmark`).
Flat RL (one PPO over all stocks, trained per fold and seed) lives in :mod:`hrl_sarp.backtest.flat_rl`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from hrl_sarp.config import BacktestConfig, RiskConfig
from hrl_sarp.envs.risk import liquidity_mask
from hrl_sarp.features.arrays import FeatureArrays

WeightFn = Callable[[FeatureArrays, int, int], np.ndarray]

BENCHMARK = "benchmark"
EQUAL_WEIGHT = "equal_weight"
MOMENTUM = "momentum"
MIN_VARIANCE = "min_variance"
RISK_PARITY = "risk_parity"
RANDOM = "random"


@dataclass(frozen=True)
class Strategy:
    """A named target-weight function; ``seeded`` strategies are run once per seed, the others once."""

    name: str
    weights: WeightFn
    seeded: bool = False


def eligible(arrays: FeatureArrays, t: int, min_adv_value: float = 0.0) -> np.ndarray:
    """(N,) bool names that can be held after a decision at row t: tradable, priced and liquid at t."""
    close = arrays.close[t]
    priced = np.isfinite(close) & (close > 0)
    return liquidity_mask(arrays.tradable[t] & priced, arrays.adv_value[t], min_adv_value)


def _spread(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    w = np.zeros(mask.shape[0])
    w[mask] = values
    return w


def equal_weight(arrays: FeatureArrays, t: int, seed: int = 0, min_adv_value: float = 0.0) -> np.ndarray:
    """(N,) 1/n over the n names eligible at t."""
    mask = eligible(arrays, t, min_adv_value)
    n = int(mask.sum())
    return _spread(mask, np.full(n, 1.0 / n)) if n else np.zeros(arrays.n_stocks)


def trailing_returns(arrays: FeatureArrays, t: int, lookback: int) -> np.ndarray:
    """(L, N) daily stock returns of rows ``max(1, t - lookback + 1) .. t`` (0 where unknown)."""
    start = max(1, t - lookback + 1)
    window = np.asarray(arrays.stock_returns[start : t + 1], dtype=np.float64)
    return np.nan_to_num(window, nan=0.0, posinf=0.0, neginf=0.0)


def momentum(
    arrays: FeatureArrays, t: int, seed: int = 0, lookback: int = 126, min_adv_value: float = 0.0
) -> np.ndarray:
    """(N,) equal weights on the top tercile (ceil(n / 3) names) of eligible names by trailing compounded return.

    Ties keep the lower index. Before any history exists (t = 0) it is equal weight.
    """
    mask = eligible(arrays, t, min_adv_value)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return np.zeros(arrays.n_stocks)
    window = trailing_returns(arrays, t, lookback)
    if window.shape[0] == 0:
        return equal_weight(arrays, t, seed, min_adv_value)
    score = np.prod(1.0 + window[:, idx], axis=0) - 1.0
    k = int(np.ceil(idx.size / 3))
    top = idx[np.argsort(-score, kind="stable")[:k]]
    w = np.zeros(arrays.n_stocks)
    w[top] = 1.0 / k
    return w


def shrunk_covariance(returns: np.ndarray) -> np.ndarray:
    """(P, P) Ledoit-Wolf (2004) covariance of (L, P) returns, shrunk towards ``mean variance * I``.

    shrinkage = min(b2, d2) / d2 with d2 = ||S - mu I||_F^2 and b2 = (sum_k ||x_k||^4 - L ||S||_F^2) / L^2 over
    the demeaned rows x_k, S = X'X / L, mu = trace(S) / P.
    """
    x = returns - returns.mean(axis=0)
    n_obs, p = x.shape
    s = x.T @ x / n_obs
    mu = float(np.trace(s)) / p
    target = mu * np.eye(p)
    d2 = float(((s - target) ** 2).sum())
    b2 = (float((np.einsum("ij,ij->i", x, x) ** 2).sum()) - n_obs * float((s**2).sum())) / n_obs**2
    shrink = 0.0 if d2 <= 0 else min(max(b2, 0.0), d2) / d2
    return shrink * target + (1.0 - shrink) * s


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of (P,) ``v`` onto {w >= 0, sum w = 1} (sort-based, exact)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    k = np.arange(1, v.size + 1)
    rho = np.flatnonzero(u - css / k > 0)[-1]
    return np.maximum(v - css[rho] / (rho + 1), 0.0)


def min_variance_weights(cov: np.ndarray, max_iter: int = 5000, tol: float = 1e-10) -> np.ndarray:
    """(P,) long-only minimum-variance weights for (P, P) ``cov``: accelerated projected gradient on the simplex
    (FISTA with adaptive restart), stopping when no weight moves by more than ``tol``."""
    p = cov.shape[0]
    scale = float(np.trace(cov)) / p
    if scale <= 0:
        return np.full(p, 1.0 / p)
    c = cov / scale
    step = 1.0 / (2.0 * float(np.linalg.eigvalsh(c)[-1]))
    w = np.full(p, 1.0 / p)
    z, theta = w.copy(), 1.0
    for _ in range(max_iter):
        w_next = project_simplex(z - step * 2.0 * (c @ z))
        if float((z - w_next) @ (w_next - w)) > 0:  # momentum points uphill: restart (O'Donoghue & Candes)
            theta = 1.0
        theta_next = (1.0 + np.sqrt(1.0 + 4.0 * theta * theta)) / 2.0
        z = w_next + ((theta - 1.0) / theta_next) * (w_next - w)
        done = float(np.abs(w_next - w).max()) < tol
        w, theta = w_next, theta_next
        if done:
            break
    return w


def risk_parity_weights(cov: np.ndarray, max_iter: int = 100, tol: float = 1e-12) -> np.ndarray:
    """(P,) equal-risk-contribution weights: ``w_i (cov w)_i`` equal for all i, ``sum w = 1``, ``w > 0``.

    Damped Newton on the convex ``f(y) = y' C y / 2 - sum log(y_i) / P`` (C = cov scaled to unit mean variance),
    whose minimiser normalised to sum 1 is the ERC portfolio.
    """
    p = cov.shape[0]
    scale = float(np.trace(cov)) / p
    if scale <= 0:
        return np.full(p, 1.0 / p)
    c = cov / scale
    b = np.full(p, 1.0 / p)
    y = 1.0 / np.sqrt(np.maximum(np.diag(c), 1e-12))
    y /= np.sqrt(float(y @ c @ y))

    def objective(v: np.ndarray) -> float:
        return 0.5 * float(v @ c @ v) - float(b @ np.log(v))

    for _ in range(max_iter):
        grad = c @ y - b / y
        if float(np.abs(grad * y).max()) < tol:
            break
        hess = c + np.diag(b / y**2)
        dy = -np.linalg.solve(hess, grad)
        neg = dy < 0
        step = min(1.0, 0.95 * float(np.min(-y[neg] / dy[neg]))) if neg.any() else 1.0
        f0 = objective(y)
        slope = float(grad @ dy)
        while step > 1e-12 and objective(y + step * dy) > f0 + 1e-4 * step * slope:
            step *= 0.5
        y = y + step * dy
    return y / y.sum()


def _covariance_strategy(
    solver: Callable[[np.ndarray], np.ndarray],
    arrays: FeatureArrays,
    t: int,
    lookback: int,
    min_adv_value: float,
) -> np.ndarray:
    mask = eligible(arrays, t, min_adv_value)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return np.zeros(arrays.n_stocks)
    window = trailing_returns(arrays, t, lookback)
    if window.shape[0] < 5 or idx.size == 1:  # too little history for a covariance: equal weight
        return equal_weight(arrays, t, 0, min_adv_value)
    return _spread(mask, solver(shrunk_covariance(window[:, idx])))


def min_variance(
    arrays: FeatureArrays, t: int, seed: int = 0, lookback: int = 126, min_adv_value: float = 0.0
) -> np.ndarray:
    """(N,) long-only minimum variance over eligible names, Ledoit-Wolf covariance of the trailing ``lookback``."""
    return _covariance_strategy(min_variance_weights, arrays, t, lookback, min_adv_value)


def risk_parity(
    arrays: FeatureArrays, t: int, seed: int = 0, lookback: int = 126, min_adv_value: float = 0.0
) -> np.ndarray:
    """(N,) equal-risk-contribution weights over eligible names (same covariance as :func:`min_variance`)."""
    return _covariance_strategy(risk_parity_weights, arrays, t, lookback, min_adv_value)


def random_weights(arrays: FeatureArrays, t: int, seed: int = 0, min_adv_value: float = 0.0) -> np.ndarray:
    """(N,) Dirichlet(1, ..., 1) weights over eligible names, drawn from a generator seeded by (seed, t)."""
    mask = eligible(arrays, t, min_adv_value)
    n = int(mask.sum())
    if n == 0:
        return np.zeros(arrays.n_stocks)
    rng = np.random.default_rng([seed, t])
    return _spread(mask, rng.dirichlet(np.ones(n)))


def make_baselines(backtest: BacktestConfig, risk: RiskConfig) -> list[Strategy]:
    """The weight-function baselines with lookbacks from config and the simulator's liquidity threshold."""
    adv = risk.min_adv_value
    cov_days = backtest.covariance_lookback_days
    return [
        Strategy(EQUAL_WEIGHT, partial(equal_weight, min_adv_value=adv)),
        Strategy(MOMENTUM, partial(momentum, lookback=backtest.momentum_lookback_days, min_adv_value=adv)),
        Strategy(MIN_VARIANCE, partial(min_variance, lookback=cov_days, min_adv_value=adv)),
        Strategy(RISK_PARITY, partial(risk_parity, lookback=cov_days, min_adv_value=adv)),
        Strategy(RANDOM, partial(random_weights, min_adv_value=adv), seeded=True),
    ]
