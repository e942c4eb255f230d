"""Risk rules as pure functions: liquidity filter, CVaR95 budget, drawdown gate.

The stock and sector caps and the minimum cash live in the weight projection (:mod:`hrl_sarp.envs.weights`); the
simulator (:mod:`hrl_sarp.envs.simulator`) applies all rules in this order at each decision date t, using only data
known at the close of t: liquidity mask -> capped-simplex projection (stock cap, sector cap, 1 - min cash) ->
CVaR95 budget -> drawdown gate.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def liquidity_mask(tradable: np.ndarray, adv_value: np.ndarray, min_adv_value: float) -> np.ndarray:
    """Names that may be held: listed/priced (``tradable``) and 20-day ADV >= ``min_adv_value``.

    tradable: (..., N) bool; adv_value: (..., N) average traded value (NaN without volume). A NaN ADV always
    passes: without volume there is no evidence of illiquidity, and SPEC switches the filter off for sources without
    volume (the feature coverage report says so) rather than making every name untradable. Returns (..., N) bool.
    """
    if min_adv_value <= 0:
        return np.asarray(tradable, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(tradable, dtype=bool) & (np.nan_to_num(adv_value, nan=np.inf) >= min_adv_value)


@lru_cache(maxsize=256)
def cvar_tail_count(n_obs: int, alpha: float = 0.95) -> int:
    """Number of worst observations averaged by the historical CVaR at level ``alpha`` (at least 1)."""
    return max(1, math.ceil(round((1.0 - alpha) * n_obs, 9)))


def historical_cvar(returns: np.ndarray, alpha: float = 0.95) -> np.ndarray | float:
    """Historical CVaR (expected shortfall) as a positive loss: minus the mean of the worst ceil((1-alpha) L) returns.

    returns: (..., L) simple returns along the last axis. Returns (...) (a float for 1-D input).
    """
    r = np.asarray(returns, dtype=np.float64)
    k = cvar_tail_count(r.shape[-1], alpha)
    worst = np.partition(r, k - 1, axis=-1)[..., :k]
    out = -worst.mean(axis=-1)
    return float(out) if out.ndim == 0 else out


def max_drawdown(returns: np.ndarray) -> float:
    """Largest peak-to-trough loss (positive fraction) of the NAV path 1, (1+r_1), ... (0 for no returns).

    returns: (L,) simple returns. The one definition behind R_portfolio's Calmar and the backtest metric.
    """
    nav = np.cumprod(1.0 + np.asarray(returns, dtype=np.float64))
    peak = np.maximum(np.maximum.accumulate(nav), 1.0)
    return float(max(0.0, (1.0 - nav / peak).max(initial=0.0)))


def cvar_exposure_scale(
    weights: np.ndarray, window_returns: np.ndarray, budget: float, alpha: float = 0.95
) -> tuple[float, float]:
    """Factor in (0, 1] that brings the portfolio's historical CVaR within ``budget``, and the unscaled CVaR.

    weights: (N,) proposed weights; window_returns: (L, N) daily stock returns of the trailing window ending at the
    decision date. CVaR is positively homogeneous (cash earns 0), so scaling the invested weights by
    ``budget / CVaR`` meets the budget exactly.
    """
    n_obs = len(window_returns)
    if n_obs == 0:
        return 1.0, 0.0
    k = cvar_tail_count(n_obs, alpha)
    loss = -float(np.partition(window_returns @ weights, k - 1)[:k].sum()) / k
    if loss > budget:
        return budget / loss, loss
    return 1.0, loss


def update_drawdown_gate(closed: bool, drawdown: float, gate: float, reenter: float) -> bool:
    """Next state of the drawdown gate (True = closed): closes above ``gate``, reopens at or below ``reenter``."""
    if closed:
        return drawdown > reenter
    return drawdown > gate


def drawdown_exposure(drawdown: float, start: float, full: float, floor: float) -> float:
    """Exposure multiplier of the ``scale`` rule: 1 up to a ``start`` drawdown, falling linearly to ``floor`` at
    ``full`` and staying there beyond (0 <= start < full)."""
    depth = (drawdown - start) / (full - start)
    return float(min(1.0, max(floor, 1.0 - depth * (1.0 - floor))))


def drawdown(nav: float, peak: float) -> float:
    """Drawdown from the running peak as a positive fraction."""
    return 0.0 if peak <= 0 else max(0.0, 1.0 - nav / peak)
