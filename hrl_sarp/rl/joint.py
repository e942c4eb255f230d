"""The trainable hierarchy in memory: both SB3 models, their environments, the frozen views each layer has of
the other, and the validation evaluator. Phases 3, 4 and 5 are short functions over one :class:`Hierarchy`.

Phase 5 (:func:`alternate`): rounds of (macro PPO with the current micro frozen -> macro goals recomputed -> micro
TD3 + HER under them), validation Sharpe after each round, the best round's parameters kept, stop after
``rl.patience`` rounds without a gain.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hrl_sarp.config import Config
from hrl_sarp.envs.goals import GoalProvider, ScheduledGoal
from hrl_sarp.envs.simulator import MarketArrays
from hrl_sarp.logs import both_streams_are_terminals
from hrl_sarp.rl.callbacks import RewardStatsCallback, ValidationSharpeCallback
from hrl_sarp.rl.curriculum import Curriculum
from hrl_sarp.rl.evaluation import SystemEvaluator
from hrl_sarp.rl.inputs import RlInputs
from hrl_sarp.rl.layers import Actor, ModelActor, PolicyMicroLayer, macro_goal_schedule, network_actor


class SwitchableGoal:
    """A goal provider whose schedule is replaced between Phase 5 rounds (the env keeps the same object)."""

    def __init__(self, inner: GoalProvider):
        self.inner = inner

    def __call__(self, t: int) -> tuple[np.ndarray, int]:
        return self.inner(t)


@dataclass
class Hierarchy:
    """Shared pieces of Phases 3-5 for one seed."""

    inputs: RlInputs
    cfg: Config
    seed: int
    market: MarketArrays
    evaluator: SystemEvaluator
    macro_pretrained: dict[str, Any]  # Phase 1 checkpoint payload
    micro_pretrained: dict[str, Any]  # Phase 2 checkpoint payload
    macro_network: torch.nn.Module
    micro_network: torch.nn.Module
    macro_model: Any = None
    micro_model: Any = None
    macro_venv: Any = None
    micro_venv: Any = None
    macro_curriculum: Curriculum | None = None
    micro_curriculum: Curriculum | None = None
    micro_layer: PolicyMicroLayer | None = None
    goals: SwitchableGoal | None = None
    timings: dict[str, float] = field(default_factory=dict)

    # --- frozen views ------------------------------------------------------------------------------------------
    def macro_actor(self) -> Actor:
        return ModelActor(self.macro_model) if self.macro_model is not None else network_actor(self.macro_network)

    def micro_actor(self) -> Actor:
        return ModelActor(self.micro_model) if self.micro_model is not None else network_actor(self.micro_network)

    def layer(self, actor: Actor | None = None) -> PolicyMicroLayer:
        return PolicyMicroLayer(actor or self.micro_actor(), self.inputs.arrays, self.market, self.cfg)

    def goal_schedule(self) -> ScheduledGoal:
        return macro_goal_schedule(
            self.macro_actor(), self.inputs.arrays, self.inputs.macro_inputs, self.cfg, self.market.tradable
        )

    # --- validation ---------------------------------------------------------------------------------------------
    def val_sharpe(self) -> float:
        return self.evaluator.sharpe(self.macro_actor(), self.layer())

    def baselines(self) -> dict[str, float]:
        """Equal weight and the pretrained system (Phase 1 macro + Phase 2 micro, no RL) on the validation rows."""
        pretrained = self.evaluator.rollout(
            network_actor(self.macro_network), self.layer(network_actor(self.micro_network))
        )
        return {
            "val_sharpe_equal_weight": self.evaluator.equal_weight_sharpe(),
            "val_sharpe_phase2_only": pretrained.sharpe,
            "val_regime_accuracy_phase2_only": float(np.mean(pretrained.regime_hits)),
        }

    def summary(self) -> dict[str, float]:
        roll = self.evaluator.rollout(self.macro_actor(), self.layer())
        return {
            "val_sharpe": roll.sharpe,
            "val_total_return": roll.total_return,
            "val_regime_accuracy": float(np.mean(roll.regime_hits)),
        }

    # --- training -----------------------------------------------------------------------------------------------
    def macro_callback(
        self, eval_every: int, label: str = "macro", timesteps: int | None = None
    ) -> ValidationSharpeCallback:
        layer = self.layer()
        return ValidationSharpeCallback(
            lambda model: self.evaluator.sharpe(ModelActor(model), layer),
            eval_every,
            self.macro_curriculum,
            reference_sharpe=self.evaluator.equal_weight_sharpe(),
            label=label,
            timesteps=timesteps,
        )

    def micro_callback(
        self, eval_every: int, label: str = "micro", timesteps: int | None = None
    ) -> ValidationSharpeCallback:
        macro = self.macro_actor()
        return ValidationSharpeCallback(
            lambda model: self.evaluator.sharpe(macro, self.layer(ModelActor(model))),
            eval_every,
            self.micro_curriculum,
            reference_sharpe=self.evaluator.equal_weight_sharpe(),
            label=label,
            timesteps=timesteps,
        )

    # SB3's progress bar (tqdm + rich) only on a terminal; redirected output gets the evaluation log lines alone.
    def learn_macro(self, timesteps: int, callback: RewardStatsCallback | None = None) -> None:
        began = time.perf_counter()
        self.macro_model.learn(
            timesteps, callback=callback, reset_num_timesteps=False, progress_bar=both_streams_are_terminals()
        )
        self.timings["macro"] = self.timings.get("macro", 0.0) + time.perf_counter() - began

    def learn_micro(self, timesteps: int, callback: RewardStatsCallback | None = None) -> None:
        began = time.perf_counter()
        self.micro_model.learn(
            timesteps, callback=callback, reset_num_timesteps=False, progress_bar=both_streams_are_terminals()
        )
        self.timings["micro"] = self.timings.get("micro", 0.0) + time.perf_counter() - began

    def snapshot(self) -> dict[str, Any]:
        return {
            "macro": copy.deepcopy(self.macro_model.policy.state_dict()),
            "micro": copy.deepcopy(self.micro_model.policy.state_dict()),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.macro_model.policy.load_state_dict(state["macro"])
        self.micro_model.policy.load_state_dict(state["micro"])


def alternate(h: Hierarchy, on_round: Any = None) -> dict[str, Any]:
    """Phase 5 on a hierarchy holding both models; returns the round history and the best round."""
    rl = h.cfg.rl
    best = h.val_sharpe()
    best_state, best_round, bad = h.snapshot(), 0, 0
    history = [{"round": 0, "val_sharpe": best}]
    if on_round is not None:
        on_round(0, {"val_sharpe": best, "best_val_sharpe": best})
    macro_rewards, micro_rewards = RewardStatsCallback(), RewardStatsCallback()
    for rnd in range(1, rl.phase5_rounds + 1):
        h.micro_layer.actor = h.micro_actor()
        h.learn_macro(rl.phase5_macro_timesteps, macro_rewards)
        h.goals.inner = h.goal_schedule()
        h.learn_micro(rl.phase5_micro_timesteps, micro_rewards)
        value = h.val_sharpe()
        if value > best:
            best, best_state, best_round, bad = value, h.snapshot(), rnd, 0
        else:
            bad += 1
        history.append({"round": rnd, "val_sharpe": value})
        if on_round is not None:
            on_round(rnd, {"val_sharpe": value, "best_val_sharpe": best})
        if bad >= rl.patience:
            break
    h.restore(best_state)
    h.goals.inner = h.goal_schedule()
    rewards = {f"reward_macro_{k}": v for k, v in macro_rewards.reward_stats().items()}
    rewards.update({f"reward_micro_{k}": v for k, v in micro_rewards.reward_stats().items()})
    return {
        "rounds_run": len(history) - 1,
        "best_round": best_round,
        "best_val_sharpe": best,
        "evaluations": len(history),
        "history": history,
        **rewards,
    }
