"""Episode-start curriculum: calm bull spells -> mixed markets -> stress windows, promoted on validation Sharpe.

Three pools of candidate episode starts inside the training rows (each episode spans ``episode_days`` sessions):

- ``calm_bull``: at least ``calm_bull_share`` of the episode's rows have the Bull regime label and the benchmark's
  realised volatility over the episode is at or below the median of all candidate episodes;
- ``stress``: the episode overlaps a dated stress window from config (crashes, rate-hike spells), or at least
  ``stress_bear_share`` of its rows are Bear, or the benchmark draws down more than ``stress_drawdown`` inside it;
- ``mixed``: every candidate start.

A stage draws the pool by its ``mix`` and then a start uniformly inside the pool (an empty pool falls back to
``mixed``). Regime labels and returns select *training episodes* only; they are never observations.
:class:`CurriculumStarts` is a gymnasium wrapper that passes the drawn start to ``reset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from hrl_sarp.config import CurriculumConfig
from hrl_sarp.domain import REGIME_CODES
from hrl_sarp.features.arrays import FeatureArrays

POOLS = ("calm_bull", "mixed", "stress")
BULL, BEAR = REGIME_CODES["Bull"], REGIME_CODES["Bear"]


def episode_pools(
    arrays: FeatureArrays, candidates: np.ndarray, episode_days: int, cfg: CurriculumConfig
) -> dict[str, np.ndarray]:
    """Split candidate start rows (K,) into the three pools (sorted row arrays)."""
    candidates = np.asarray(candidates, dtype=np.int64)
    t_max = arrays.n_dates - 1
    ends = np.minimum(candidates + episode_days, t_max)
    regimes = np.asarray(arrays.regime_labels)
    bench = np.nan_to_num(np.asarray(arrays.benchmark_returns, dtype=np.float64))
    bull_share = np.empty(len(candidates))
    bear_share = np.empty(len(candidates))
    vol = np.empty(len(candidates))
    drawdown = np.empty(len(candidates))
    for k, (a, b) in enumerate(zip(candidates, ends, strict=True)):
        window = slice(a + 1, b + 1)
        bull_share[k] = np.mean(regimes[window] == BULL)
        bear_share[k] = np.mean(regimes[window] == BEAR)
        r = bench[window]
        vol[k] = r.std()
        nav = np.cumprod(1.0 + r)
        drawdown[k] = float(np.max(1.0 - nav / np.maximum.accumulate(nav))) if len(nav) else 0.0
    dates = arrays.dates.astype("datetime64[D]")
    in_window = np.zeros(len(candidates), dtype=bool)
    for w in cfg.stress_windows:
        lo, hi = np.datetime64(w.start, "D"), np.datetime64(w.end, "D")
        in_window |= (dates[candidates] <= hi) & (dates[ends] >= lo)
    calm = (bull_share >= cfg.calm_bull_share) & (vol <= np.median(vol))
    stress = in_window | (bear_share >= cfg.stress_bear_share) | (drawdown > cfg.stress_drawdown)
    return {"calm_bull": candidates[calm], "mixed": candidates, "stress": candidates[stress]}


@dataclass
class Curriculum:
    """Stage state and sampling. ``update(excess_sharpe)`` (validation Sharpe minus equal weight's) promotes when
    the stage's threshold is met (or after ``max_stage_evals`` evaluations when that is set); True on a promotion."""

    cfg: CurriculumConfig
    pools: dict[str, np.ndarray]
    seed: int = 0
    stage: int = 0
    evals_in_stage: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    @property
    def stage_name(self) -> str:
        return self.cfg.stages[self.stage].name

    def mix(self) -> dict[str, float]:
        """The current stage's pool probabilities (normalised; empty pools give their share to ``mixed``)."""
        raw = {p: float(self.cfg.stages[self.stage].mix.get(p, 0.0)) for p in POOLS}
        for pool in ("calm_bull", "stress"):
            if len(self.pools[pool]) == 0 and raw[pool] > 0:
                raw["mixed"] += raw[pool]
                raw[pool] = 0.0
        total = sum(raw.values()) or 1.0
        return {p: v / total for p, v in raw.items()}

    def sample(self) -> tuple[int, str]:
        """One episode start row and the pool it came from."""
        mix = self.mix()
        pool = POOLS[int(self.rng.choice(len(POOLS), p=[mix[p] for p in POOLS]))]
        return int(self.rng.choice(self.pools[pool])), pool

    def update(self, excess_sharpe: float) -> bool:
        self.evals_in_stage += 1
        stage = self.cfg.stages[self.stage]
        last = self.stage >= len(self.cfg.stages) - 1
        threshold = stage.promote_at_excess_sharpe
        threshold_met = threshold is not None and excess_sharpe >= threshold
        timed_out = self.cfg.max_stage_evals > 0 and self.evals_in_stage >= self.cfg.max_stage_evals
        promoted = not last and (threshold_met or timed_out)
        self.history.append({"stage": self.stage_name, "excess_sharpe": float(excess_sharpe), "promoted": promoted})
        if promoted:
            self.stage += 1
            self.evals_in_stage = 0
        return promoted

    def metrics(self) -> dict[str, float]:
        return {"curriculum/stage": float(self.stage), **{f"curriculum/mix_{k}": v for k, v in self.mix().items()}}


class CurriculumStarts(gym.Wrapper):
    """Resets the wrapped environment at a start drawn from the curriculum (unless ``options`` name one).
    ``curriculum=None`` leaves the environment's own uniform draw in place."""

    def __init__(self, env: gym.Env, curriculum: Curriculum | None):
        super().__init__(env)
        self.curriculum = curriculum
        self.pool_counts = dict.fromkeys(POOLS, 0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if self.curriculum is not None and not (options and "start" in options):
            start, pool = self.curriculum.sample()
            self.pool_counts[pool] += 1
            options = {**(options or {}), "start": start}
        return self.env.reset(seed=seed, options=options)


def build_curriculum(
    arrays: FeatureArrays,
    cfg: CurriculumConfig,
    train_range: tuple[int, int],
    episode_days: int,
    starts: np.ndarray | None = None,
    seed: int = 0,
) -> Curriculum | None:
    """A curriculum over ``starts`` (default: every row leaving room for one episode inside ``train_range``);
    None when the curriculum is disabled."""
    if not cfg.enabled:
        return None
    first, last = train_range
    if starts is None:
        starts = np.arange(first, max(first, last - episode_days) + 1)
    starts = np.asarray(starts, dtype=np.int64)
    starts = starts[(starts >= first) & (starts <= max(first, last - episode_days))]
    if len(starts) == 0:
        starts = np.array([first])
    return Curriculum(cfg, episode_pools(arrays, starts, episode_days, cfg), seed=seed)
