"""SB3 callbacks: periodic validation Sharpe of the whole hierarchy, best-model tracking, curriculum promotion."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from hrl_sarp.rl.curriculum import Curriculum

log = logging.getLogger(__name__)


class RewardStatsCallback(BaseCallback):
    """Collects every reward component the environments report (``info["r_<component>"]``) over training."""

    def __init__(self, verbose: int = 0):
        super().__init__(verbose)
        self._rewards: dict[str, list[float]] = {}

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            for key, value in info.items():
                if key.startswith("r_") and isinstance(value, int | float):
                    self._rewards.setdefault(key[2:], []).append(float(value))
        return True

    def reward_stats(self) -> dict[str, float]:
        """``{component}_mean`` / ``{component}_std`` over the training steps so far."""
        out: dict[str, float] = {}
        for key, values in sorted(self._rewards.items()):
            x = np.asarray(values)
            out[f"{key}_mean"], out[f"{key}_std"] = float(x.mean()), float(x.std())
        return out


class ValidationSharpeCallback(RewardStatsCallback):
    """Every ``eval_every`` environment steps (and once at the end of training) call ``evaluate(model) ->
    validation Sharpe``, record it as ``eval/val_sharpe`` (plus the best so far and the curriculum stage and mix) in
    the SB3 logger with the reward components seen so far (:class:`RewardStatsCallback`), keep a copy of the best
    policy's parameters and move the curriculum on (its thresholds are on the excess over ``reference_sharpe``,
    the equal-weight Sharpe).

    Each evaluation is also an INFO line on logger ``hrl_sarp.rl.callbacks``: ``phase 3 eval 3/16 (1,536/8,192
    steps): val Sharpe 1.151 (best 1.151)`` (``label`` names the run; ``timesteps``, the steps this training is
    planned for, gives the totals; evaluation 0 is the start point).

    ``history``: ``[{"timesteps", "val_sharpe", "stage"}]``; ``best_sharpe`` / ``best_state`` / ``best_timesteps``.
    """

    def __init__(
        self,
        evaluate: Callable[[Any], float],
        eval_every: int,
        curriculum: Curriculum | None = None,
        initial_best: float = float("-inf"),
        reference_sharpe: float = 0.0,
        label: str = "validation",
        timesteps: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(verbose)
        self.evaluate = evaluate
        self.eval_every = max(1, int(eval_every))
        self.curriculum = curriculum
        self.reference_sharpe = reference_sharpe
        self.label = label
        self.timesteps = timesteps
        self._first_timesteps: int | None = None  # num_timesteps at the first evaluation: steps count from there
        self.best_sharpe = initial_best
        self.best_state: dict[str, Any] | None = None
        self.best_timesteps = 0
        self.history: list[dict[str, Any]] = []
        self._last_eval = 0

    def _on_step(self) -> bool:
        super()._on_step()
        if self.num_timesteps - self._last_eval >= self.eval_every:
            self.run_eval()
        return True

    def _on_training_end(self) -> None:
        if self.num_timesteps != self._last_eval:
            self.run_eval()

    def run_eval(self) -> float:
        self._last_eval = self.num_timesteps
        value = float(self.evaluate(self.model))
        stage = self.curriculum.stage_name if self.curriculum is not None else "none"
        self.history.append({"timesteps": int(self.num_timesteps), "val_sharpe": value, "stage": stage})
        if value > self.best_sharpe:
            self.best_sharpe = value
            self.best_timesteps = int(self.num_timesteps)
            self.best_state = copy.deepcopy(self.model.policy.state_dict())
        for key, stat in self.reward_stats().items():
            self.logger.record(f"reward/{key}", stat)
        self.logger.record("eval/val_sharpe", value)
        self.logger.record("eval/best_val_sharpe", self.best_sharpe)
        if self.curriculum is not None:
            for key, val in self.curriculum.metrics().items():
                self.logger.record(key, val)
            self.curriculum.update(value - self.reference_sharpe)
        self.logger.dump(self.num_timesteps)
        self._log_progress(value, stage)
        return value

    def _log_progress(self, value: float, stage: str) -> None:
        if self._first_timesteps is None:
            self._first_timesteps = int(self.num_timesteps)
        index, steps = len(self.history) - 1, int(self.num_timesteps) - self._first_timesteps
        if self.timesteps:
            planned = max(index, math.ceil(self.timesteps / self.eval_every))
            where = f"eval {index}/{planned} ({steps:,}/{self.timesteps:,} steps)"
        else:
            where = f"eval {index} ({steps:,} steps)"
        suffix = f", curriculum {stage}" if self.curriculum is not None else ""
        log.info("%s %s: val Sharpe %.3f (best %.3f)%s", self.label, where, value, self.best_sharpe, suffix)

    def restore_best(self) -> bool:
        """Load the best policy parameters seen (if any evaluation beat ``initial_best``); True when restored."""
        if self.best_state is None:
            return False
        self.model.policy.load_state_dict(self.best_state)
        return True
