"""The interfaces between the two layers: goal providers (macro -> micro) and micro layers (inside MacroEnv).

A goal provider maps a decision row t to ``(sector_weights (S,), regime code)``; it may only use data up to t.
A micro layer maps ``(t, sector_weights (S,), regime, day_in_step, simulator)`` to a proposal of stock weights (N,)
for the simulator, or ``None`` to hold the current positions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from hrl_sarp.domain import REGIME_CODES

if TYPE_CHECKING:
    from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator

SIDEWAYS = REGIME_CODES["Sideways"]

GoalProvider = Callable[[int], tuple[np.ndarray, int]]
MicroLayer = Callable[[int, np.ndarray, int, int, "PortfolioSimulator"], "np.ndarray | None"]


class ConstantGoal:
    """The same goal at every date (default: equal sector weights, Sideways)."""

    def __init__(self, sector_weights: np.ndarray, regime: int = SIDEWAYS):
        self.sector_weights = np.asarray(sector_weights, dtype=np.float64)
        self.regime = int(regime)

    def __call__(self, t: int) -> tuple[np.ndarray, int]:
        return self.sector_weights, self.regime


class ScheduledGoal:
    """Goals looked up from a precomputed table: sector_weights (T, S) and regimes (T,) decided with data <= t
    (e.g. a frozen macro policy run once over the dates, held constant within each week)."""

    def __init__(self, sector_weights: np.ndarray, regimes: np.ndarray):
        self.sector_weights = np.asarray(sector_weights, dtype=np.float64)
        self.regimes = np.asarray(regimes, dtype=np.int64)

    def __call__(self, t: int) -> tuple[np.ndarray, int]:
        return self.sector_weights[t], int(self.regimes[t])


class WithinSectorRule:
    """Default micro layer: equal weight over the tradable names of each sector, scaled by the sector weight.

    Rebalances on the first day of each macro step (``day_in_step == 0``) and holds on the other days.
    """

    def __init__(self, market: MarketArrays):
        self.sector_of = market.sector_of
        self.tradable = market.tradable
        self.n_sectors = market.n_sectors

    def __call__(
        self, t: int, sector_weights: np.ndarray, regime: int, day_in_step: int, simulator: PortfolioSimulator
    ) -> np.ndarray | None:
        if day_in_step > 0:
            return None
        return within_sector_weights(sector_weights, self.sector_of, self.tradable[t], self.n_sectors)


def within_sector_weights(
    sector_weights: np.ndarray, sector_of: np.ndarray, tradable: np.ndarray, n_sectors: int
) -> np.ndarray:
    """Stock weights (N,): ``sector_weights[s] / #tradable names in s`` for tradable names, else 0.

    sector_weights: (S,); sector_of: (N,) int; tradable: (N,) bool.
    """
    counts = np.bincount(sector_of, weights=tradable.astype(np.float64), minlength=n_sectors)
    per_name = np.divide(sector_weights, counts, out=np.zeros(n_sectors), where=counts > 0)
    return np.where(tradable, per_name[sector_of], 0.0)


def goal_matched(proposal: np.ndarray, goal: np.ndarray, sector_of: np.ndarray) -> np.ndarray:
    """Rescale stock weights (N,) so each sector holds its goal weight (S,); sectors the proposal leaves empty
    stay empty (their goal weight goes to cash)."""
    sector = np.bincount(sector_of, weights=proposal, minlength=len(goal))
    scale = np.divide(goal, sector, out=np.zeros_like(goal, dtype=np.float64), where=sector > 0)
    return proposal * scale[sector_of]
