"""The supervised linear baseline: a ridge forecast of next week's sector returns from the macro state, traded by
the macro agent's own allocation rule.

Per fold of the walk-forward plan, one ridge regression per sector (shared penalty ``backtest.ridge_penalty`` on
standardised features, intercept unpenalised) of the compounded sector return over the following week, minus its
mean across sectors, on the macro features at every week end whose label week ends before the fold's training end.
At a decision row t the forecasts (S,) are the logits of :func:`hrl_sarp.envs.macro_env.allocate` (same active
share, trade rate and sector cap as HRL-SARP, starting from equal weights at each fold's first decision; the engine
asks for decisions in time order), names are
held equally inside each sector, and the simulator's risk rules apply as for every strategy. This is the bar the
learned macro agent has to clear: the same information, the same trading rule, no RL.

Shapes: T dates, S sectors, M macro features, K training weeks.
"""

from __future__ import annotations

import numpy as np

from hrl_sarp.backtest.baselines import Strategy, eligible
from hrl_sarp.backtest.splits import WalkForwardPlan
from hrl_sarp.config import Config
from hrl_sarp.envs.goals import within_sector_weights
from hrl_sarp.envs.macro_env import allocate
from hrl_sarp.features.arrays import FeatureArrays

RIDGE = "ridge"


def weekly_sector_labels(arrays: FeatureArrays) -> tuple[np.ndarray, np.ndarray]:
    """``(rows (W-1,), labels (W-1, S))``: each week end but the last and the compounded sector returns over the
    next week (sessions after it through the next week end), demeaned across sectors."""
    weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
    log_cum = np.vstack(
        [np.zeros((1, arrays.n_sectors)), np.cumsum(np.log1p(np.nan_to_num(arrays.sector_returns)), axis=0)]
    )
    ret = np.expm1(log_cum[weeks[1:] + 1] - log_cum[weeks[:-1] + 1])
    return weeks[:-1], ret - ret.mean(axis=1, keepdims=True)


def fit_ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge of y (K, S) on x (K, M) with standardised features and an unpenalised intercept.

    Returns ``(mean (M,), scale (M,), coefficients (M + 1, S))``: forecast = [1, (x - mean) / scale] @ coefficients.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (x - mean) / scale
    design = np.hstack([np.ones((len(z), 1)), z])
    reg = penalty * np.eye(design.shape[1])
    reg[0, 0] = 0.0
    coef = np.linalg.solve(design.T @ design + reg, design.T @ y)
    return mean, scale, coef


class RidgeStrategy:
    """The ridge baseline over one walk-forward plan (see the module docstring); fitted per fold on first use."""

    def __init__(self, arrays: FeatureArrays, cfg: Config, plan: WalkForwardPlan):
        self.arrays = arrays
        self.cfg = cfg
        self.plan = plan
        self._macro = np.nan_to_num(np.asarray(arrays.macro, dtype=np.float64))
        self._rows, self._labels = weekly_sector_labels(arrays)
        self._next = np.append(np.asarray(arrays.week_end_index, dtype=np.int64)[1:], arrays.n_dates)
        self._fits: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._previous: np.ndarray | None = None
        self._fold_starts = {fold.test_start - 1 for fold in plan.folds}

    def _fit(self, fold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if fold not in self._fits:
            end = self.plan.folds[fold].train_end
            known = self._next[: len(self._rows)] < end  # the label week closed inside the training rows
            if known.sum() < 2:
                raise ValueError(f"the ridge baseline needs at least 2 training weeks before row {end}")
            x = self._macro[self._rows[known]]
            self._fits[fold] = fit_ridge(x, self._labels[known], self.cfg.backtest.ridge_penalty)
        return self._fits[fold]

    def forecast(self, t: int) -> np.ndarray:
        """(S,) forecast excess returns for the week after row t (macro data up to t only)."""
        mean, scale, coef = self._fit(self.plan.fold_of(t))
        return np.concatenate([[1.0], (self._macro[t] - mean) / scale]) @ coef

    def weights(self, data: FeatureArrays, t: int, seed: int = 0) -> np.ndarray:
        if data is not self.arrays:
            raise ValueError("the ridge strategy was bound to another feature build")
        if t in self._fold_starts:  # a new fit starts from equal weights
            self._previous = None
        mask = eligible(data, t, self.cfg.risk.min_adv_value)
        has = np.bincount(data.stock_sector, weights=mask, minlength=data.n_sectors) > 0
        goal = allocate(self.cfg, self.forecast(t), has, self._previous)
        self._previous = goal
        return within_sector_weights(goal, data.stock_sector, mask, data.n_sectors)

    def as_strategy(self) -> Strategy:
        return Strategy(RIDGE, self.weights)
