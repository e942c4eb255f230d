"""Reward components and their mixes (seed formulas, weights from :class:`~hrl_sarp.config.RewardConfig`).

All functions are pure and broadcast over leading axes, so HER can evaluate a batch at once.

- R_excess    = sum_s (w_s - equal_s) * sector return_s - cost_rate * sector turnover (the default macro reward)
- R_macro     = sector alpha vs benchmark - hhi_penalty * HHI(sector weights) - turnover_penalty * turnover
- R_micro     = w_sharpe * Sharpe_week + w_goal * cos(achieved, goal) - w_dd * max(0, DD - dd_free)^2
- R_value     = return * 1(PE_z < threshold) * 1(return > 0)
- R_portfolio = Calmar * (1 - CVaR95) - cost
- R_regime    = regime_hit if predicted == realised else regime_miss
- totals      = sum_k mix[k] * R_k (``macro_mix``, ``micro_mix``)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hrl_sarp.envs.risk import historical_cvar, max_drawdown

ArrayLike = np.ndarray | float


def herfindahl(weights: np.ndarray) -> np.ndarray | float:
    """HHI = sum of squared weights along the last axis. weights: (..., S)."""
    w = np.asarray(weights, dtype=np.float64)
    return (w * w).sum(axis=-1)


def sector_alpha(sector_weights: np.ndarray, sector_period_returns: np.ndarray, benchmark_return: ArrayLike):
    """Return of the sector allocation minus the benchmark over the same period.

    sector_weights, sector_period_returns: (..., S) (compounded returns over the period); benchmark_return: (...).
    """
    return (np.asarray(sector_weights) * np.asarray(sector_period_returns)).sum(axis=-1) - benchmark_return


def macro_reward(
    sector_weights: np.ndarray,
    sector_period_returns: np.ndarray,
    benchmark_return: ArrayLike,
    turnover: ArrayLike,
    hhi_penalty: float,
    turnover_penalty: float,
):
    """R_macro. sector_weights/sector_period_returns: (..., S); benchmark_return, turnover: (...)."""
    alpha = sector_alpha(sector_weights, sector_period_returns, benchmark_return)
    return alpha - hhi_penalty * herfindahl(sector_weights) - turnover_penalty * np.asarray(turnover)


def allocation_excess(
    sector_weights: np.ndarray,
    sector_period_returns: np.ndarray,
    available: np.ndarray,
    turnover: ArrayLike,
    cost_rate: float,
):
    """R_excess: the allocation's return over equal weights on the ``available`` sectors, net of the costs its
    trades cause (``cost_rate`` per unit of two-sided sector turnover).

    sector_weights, sector_period_returns (compounded over the step): (..., S); available: (..., S) bool;
    turnover: (...).
    """
    avail = np.asarray(available, dtype=np.float64)
    equal = avail / np.maximum(avail.sum(axis=-1, keepdims=True), 1.0)
    active = np.asarray(sector_weights, dtype=np.float64) - equal
    returns = np.where(avail > 0, np.asarray(sector_period_returns, dtype=np.float64), 0.0)
    return (active * returns).sum(axis=-1) - cost_rate * np.asarray(turnover)


def within_sector_active(
    proposal: np.ndarray, tradable: np.ndarray, sector_of: np.ndarray, period_returns: np.ndarray, n_sectors: int
) -> np.ndarray:
    """R_active per sector (S,): the return over the step of the names chosen inside each sector (the proposal's
    weights normalised within the sector) minus the equal weight of the sector's tradable names. The micro reward
    under a goal g is ``g @ R_active`` (a sector the goal does not hold contributes nothing).

    proposal (N,) >= 0 (0 on untradable names); tradable (N,) bool; sector_of (N,) int; period_returns (N,)
    compounded over the step.
    """
    p = np.asarray(proposal, dtype=np.float64)
    ok = np.asarray(tradable, dtype=np.float64)
    r = np.where(ok > 0, np.asarray(period_returns, dtype=np.float64), 0.0)
    p_sum = np.bincount(sector_of, weights=p, minlength=n_sectors)
    n_ok = np.bincount(sector_of, weights=ok, minlength=n_sectors)
    chosen = np.divide(np.bincount(sector_of, weights=p * r, minlength=n_sectors), p_sum,
                       out=np.zeros(n_sectors), where=p_sum > 0)  # fmt: skip
    equal = np.divide(np.bincount(sector_of, weights=ok * r, minlength=n_sectors), n_ok,
                      out=np.zeros(n_sectors), where=n_ok > 0)  # fmt: skip
    return np.where(p_sum > 0, chosen - equal, 0.0)


def sharpe_ratio(returns: np.ndarray, std_floor: float):
    """Mean over standard deviation (ddof 0, floored at ``std_floor``) of returns along the last axis, not
    annualised. returns: (..., L)."""
    r = np.asarray(returns, dtype=np.float64)
    return r.mean(axis=-1) / np.maximum(r.std(axis=-1), std_floor)


def cosine_similarity(a: np.ndarray, b: np.ndarray):
    """cos(a, b) along the last axis; 0 where either vector is zero. a, b: (..., S)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norm = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    dot = (a * b).sum(axis=-1)
    return np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)


def drawdown_penalty(drawdown: ArrayLike, free: float):
    """max(0, DD - free)^2 with DD a positive fraction."""
    excess = np.maximum(np.asarray(drawdown, dtype=np.float64) - free, 0.0)
    return excess * excess


def micro_reward(
    sharpe_week: ArrayLike,
    goal_cosine: ArrayLike,
    drawdown: ArrayLike,
    sharpe_weight: float,
    goal_weight: float,
    drawdown_weight: float,
    drawdown_free: float,
):
    """R_micro from its three parts (each (...))."""
    return (
        sharpe_weight * np.asarray(sharpe_week)
        + goal_weight * np.asarray(goal_cosine)
        - drawdown_weight * drawdown_penalty(drawdown, drawdown_free)
    )


def value_reward(period_return: ArrayLike, pe_zscore: ArrayLike, threshold: float):
    """R_value = return * 1(PE_z < threshold) * 1(return > 0). PE_z: portfolio-weighted pe_zscore at decision."""
    r = np.asarray(period_return, dtype=np.float64)
    return r * (np.asarray(pe_zscore) < threshold) * (r > 0)


def calmar_ratio(returns: np.ndarray, drawdown_floor: float) -> float:
    """Compounded return of the window over its max drawdown (floored at ``drawdown_floor``), not annualised, so
    its scale is comparable to the other components. returns: (L,) daily."""
    r = np.asarray(returns, dtype=np.float64)
    total = float(np.prod(1.0 + r) - 1.0)
    return total / max(max_drawdown(r), drawdown_floor)


def portfolio_reward(calmar: ArrayLike, cvar95: ArrayLike, cost: ArrayLike):
    """R_portfolio = Calmar * (1 - CVaR95) - cost (cost as a fraction of NAV)."""
    return np.asarray(calmar) * (1.0 - np.asarray(cvar95)) - np.asarray(cost)


def portfolio_reward_from_returns(returns: np.ndarray, cost: float, drawdown_floor: float, alpha: float = 0.95):
    """R_portfolio with Calmar and CVaR95 measured on the trailing daily returns (L,). Returns (reward, calmar,
    cvar)."""
    calmar = calmar_ratio(returns, drawdown_floor)
    cvar = historical_cvar(returns, alpha)
    return calmar * (1.0 - cvar) - cost, calmar, cvar


def regime_reward(predicted: ArrayLike, realised: ArrayLike, hit: float, miss: float):
    """+hit where the predicted regime code equals the realised one, else miss. predicted, realised: (...) int."""
    return np.where(np.asarray(predicted) == np.asarray(realised), hit, miss)


def mix_rewards(components: Mapping[str, ArrayLike], weights: Mapping[str, float]):
    """Weighted sum ``sum_k weights[k] * components[k]``; every weighted component must be present."""
    missing = set(weights) - set(components)
    if missing:
        raise KeyError(f"reward components missing: {sorted(missing)}")
    return sum(weights[k] * np.asarray(components[k]) for k in weights)
