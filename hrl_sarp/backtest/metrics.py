"""Performance metrics over daily simple returns (annualised with 252 sessions a year).

Every function takes a 1-D array ``returns`` (L,) of daily simple returns of one strategy, net of costs, and returns
a float. Degenerate inputs (no variance, no drawdown, no downside) give 0 rather than inf/NaN, so the metric table
is always finite. Formulas are in docs/backtest.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hrl_sarp.domain import METRIC_NAMES, N_REGIMES, REGIMES, TRADING_DAYS_PER_YEAR
from hrl_sarp.envs.risk import historical_cvar
from hrl_sarp.envs.risk import max_drawdown as path_max_drawdown


def _as_returns(returns: np.ndarray) -> np.ndarray:
    r = np.asarray(returns, dtype=np.float64).ravel()
    if r.size == 0:
        raise ValueError("metrics need at least one daily return")
    return r


def nav_from_returns(returns: np.ndarray, initial: float = 1.0) -> np.ndarray:
    """(L + 1,) NAV path starting at ``initial`` from (L,) daily returns."""
    r = _as_returns(returns)
    return initial * np.concatenate([[1.0], np.cumprod(1.0 + r)])


def cagr(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Compound annual growth: ``prod(1 + r) ** (periods / L) - 1``."""
    r = _as_returns(returns)
    growth = float(np.prod(1.0 + r))
    if growth <= 0:
        return -1.0
    return growth ** (periods / r.size) - 1.0


def volatility(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised sample standard deviation: ``std(r, ddof=1) * sqrt(periods)`` (0 for a single day)."""
    r = _as_returns(returns)
    if r.size < 2:
        return 0.0
    return float(np.std(r, ddof=1) * np.sqrt(periods))


def sharpe_along_last_axis(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """Annualised Sharpe of every row of (..., L) daily returns (L >= 2): ``mean / std(ddof=1) * sqrt(periods)``,
    0 where a row has no variance. Returns (...)."""
    r = np.asarray(returns, dtype=np.float64)
    mean = r.mean(axis=-1)
    sd = r.std(axis=-1, ddof=1)
    safe = np.where(sd > 1e-15, sd, 1.0)
    return np.where(sd > 1e-15, mean / safe * np.sqrt(periods), 0.0)


def sharpe(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised Sharpe ratio with a zero risk-free rate: ``mean(r) / std(r, ddof=1) * sqrt(periods)``."""
    r = _as_returns(returns)
    if r.size < 2:
        return 0.0
    return float(sharpe_along_last_axis(r, periods))


def sortino(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised Sortino ratio: ``mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(periods)`` (target 0)."""
    r = _as_returns(returns)
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    return 0.0 if downside <= 1e-15 else float(np.mean(r) / downside * np.sqrt(periods))


def max_drawdown(returns: np.ndarray) -> float:
    """Largest peak-to-trough loss of the NAV path (starting at 1) as a positive fraction."""
    return path_max_drawdown(_as_returns(returns))


def calmar(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """CAGR / max drawdown (0 when there is no drawdown)."""
    mdd = max_drawdown(returns)
    return 0.0 if mdd <= 1e-15 else cagr(returns, periods) / mdd


def cvar95(returns: np.ndarray) -> float:
    """Historical daily CVaR at 95% as a positive loss: minus the mean of the worst ceil(5% L) daily returns."""
    return float(historical_cvar(_as_returns(returns), 0.95))


def hit_rate(returns: np.ndarray) -> float:
    """Share of days with a strictly positive return."""
    r = _as_returns(returns)
    return float(np.mean(r > 0.0))


def annual_turnover(turnover: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised two-sided turnover: ``mean(daily sum |traded weight|) * periods`` (1.0 = 100% of NAV a year)."""
    t = np.asarray(turnover, dtype=np.float64).ravel()
    return 0.0 if t.size == 0 else float(np.mean(t) * periods)


def cost_drag(costs: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised trading costs as a fraction of NAV: ``mean(daily cost / NAV) * periods``."""
    c = np.asarray(costs, dtype=np.float64).ravel()
    return 0.0 if c.size == 0 else float(np.mean(c) * periods)


def information_ratio(returns: np.ndarray, benchmark: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised mean active return over tracking error: ``mean(r - b) / std(r - b, ddof=1) * sqrt(periods)``."""
    r = _as_returns(returns)
    b = _as_returns(benchmark)
    if b.shape != r.shape:
        raise ValueError(f"benchmark has {b.size} returns, strategy {r.size}")
    return sharpe(r - b, periods)


# Invested fraction below which a day counts as fully in cash (weights are projected, so exact zeros are usual).
CASH_DAY_EXPOSURE = 1e-6


def cash_share(invested: np.ndarray) -> float:
    """Share of days fully in cash: ``mean(invested < CASH_DAY_EXPOSURE)``; invested (L,) fraction of NAV in stocks."""
    x = np.asarray(invested, dtype=np.float64).ravel()
    return 0.0 if x.size == 0 else float(np.mean(x < CASH_DAY_EXPOSURE))


def exposure(invested: np.ndarray) -> float:
    """Mean invested fraction of NAV over the days: ``mean(invested)``."""
    x = np.asarray(invested, dtype=np.float64).ravel()
    return 0.0 if x.size == 0 else float(np.mean(x))


def metric_table(
    returns: np.ndarray,
    benchmark: np.ndarray,
    turnover: np.ndarray | None = None,
    costs: np.ndarray | None = None,
    periods: int = TRADING_DAYS_PER_YEAR,
    invested: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of :data:`METRIC_NAMES`, in order, for one strategy.

    returns, benchmark: (L,) daily returns over the same sessions; turnover, costs: (L,) daily two-sided turnover
    and costs as a fraction of NAV (None = 0, e.g. for the benchmark itself); invested: (L,) fraction of NAV in
    stocks after each day's trades (None = fully invested, e.g. the benchmark).
    """
    r = _as_returns(returns)
    zeros = np.zeros_like(r)
    values = {
        "cagr": cagr(r, periods),
        "volatility": volatility(r, periods),
        "sharpe": sharpe(r, periods),
        "sortino": sortino(r, periods),
        "calmar": calmar(r, periods),
        "max_drawdown": max_drawdown(r),
        "cvar95": cvar95(r),
        "hit_rate": hit_rate(r),
        "turnover": annual_turnover(zeros if turnover is None else turnover, periods),
        "cost_drag": cost_drag(zeros if costs is None else costs, periods),
        "information_ratio": information_ratio(r, benchmark, periods),
        "cash_share": 0.0 if invested is None else cash_share(invested),
        "exposure": 1.0 if invested is None else exposure(invested),
    }
    return {name: float(values[name]) for name in METRIC_NAMES}


def balanced_accuracy(predicted: np.ndarray, realised: np.ndarray, n_classes: int) -> float:
    """Mean over the classes present in ``realised`` of the share of their members called right (any constant call
    scores 1 / number of classes present). predicted, realised: (K,) int codes; NaN when empty."""
    p, y = np.asarray(predicted), np.asarray(realised)
    recalls = [float(np.mean(p[y == c] == c)) for c in range(n_classes) if (y == c).any()]
    return float(np.mean(recalls)) if recalls else float("nan")


def macro_f1(predicted: np.ndarray, realised: np.ndarray, n_classes: int) -> float:
    """Unweighted mean F1 over the classes present in ``realised`` or ``predicted`` (0 for a class never called
    right). predicted, realised: (K,) int codes; NaN when empty."""
    p, y = np.asarray(predicted), np.asarray(realised)
    scores = []
    for c in range(n_classes):
        if not ((y == c).any() or (p == c).any()):
            continue
        tp = float(np.sum((p == c) & (y == c)))
        denominator = float(np.sum(p == c) + np.sum(y == c))
        scores.append(2.0 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores)) if scores else float("nan")


def regime_scores(called: np.ndarray, realised: np.ndarray) -> dict[str, Any]:
    """Hit rate, balanced accuracy and macro-F1 of the regime calls beside the majority class's (the best
    constant call in hindsight) and the share of weeks of each call."""
    majority = int(np.bincount(realised, minlength=N_REGIMES).argmax())
    constant = np.full(len(realised), majority)
    return {
        "hit_rate": round(float(np.mean(called == realised)), 6),
        "balanced_accuracy": round(balanced_accuracy(called, realised, N_REGIMES), 6),
        "macro_f1": round(macro_f1(called, realised, N_REGIMES), 6),
        "majority_regime": REGIMES[majority],
        "majority_hit_rate": round(float(np.mean(constant == realised)), 6),
        "majority_balanced_accuracy": round(balanced_accuracy(constant, realised, N_REGIMES), 6),
        "majority_macro_f1": round(macro_f1(constant, realised, N_REGIMES), 6),
        "call_shares": {REGIMES[k]: round(float(np.mean(called == k)), 6) for k in range(N_REGIMES)},
        "weeks": len(realised),
    }
