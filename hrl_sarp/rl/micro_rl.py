"""Phase 4: the micro agent with TD3 + HER on MicroEnv, starting from the Phase 2 network, goals from the frozen
macro policy. Hyperparameters: ``cfg.rl.micro_*`` (one place, visible in :func:`build_micro_model`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3 import TD3
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

from hrl_sarp.config import Config
from hrl_sarp.envs.goals import GoalProvider
from hrl_sarp.envs.micro_env import MicroEnv
from hrl_sarp.envs.simulator import MarketArrays
from hrl_sarp.policies.layout import MicroObsLayout
from hrl_sarp.policies.micro import MicroPolicy, load_pretrained_micro, micro_policy_kwargs
from hrl_sarp.rl.curriculum import Curriculum, CurriculumStarts, build_curriculum
from hrl_sarp.rl.inputs import RlInputs


class WarmStartTD3(TD3):
    """TD3 whose actor learning rate is 0 for the first ``actor_warmup_steps`` steps: the critics learn the
    pretrained actor's values before the actor follows their gradients (a random critic would otherwise undo
    Phase 2 in the first updates)."""

    def __init__(self, *args: Any, actor_warmup_steps: int = 0, **kwargs: Any):
        self.actor_warmup_steps = actor_warmup_steps
        super().__init__(*args, **kwargs)

    def _update_learning_rate(self, optimizers: Any) -> None:
        super()._update_learning_rate(optimizers)
        if self.num_timesteps < self.actor_warmup_steps:
            for group in self.actor.optimizer.param_groups:
                group["lr"] = 0.0


def micro_curriculum(inputs: RlInputs, cfg: Config, seed: int) -> Curriculum | None:
    """Episode starts: every row leaving room for an episode, or (attributed rewards: the deployed problem) every
    such week end."""
    starts = None
    if cfg.rewards.mode == "attributed":
        first, last = inputs.train_range
        weeks = np.asarray(inputs.arrays.week_end_index, dtype=np.int64)
        starts = weeks[(weeks >= first) & (weeks <= last - cfg.env.micro_episode_days)]
    return build_curriculum(
        inputs.arrays, cfg.rl.curriculum, inputs.train_range, cfg.env.micro_episode_days, starts=starts, seed=seed
    )


def micro_vec_env(
    inputs: RlInputs, cfg: Config, goals: GoalProvider, market: MarketArrays, curriculum: Curriculum | None
) -> DummyVecEnv:
    """MicroEnv over the training rows (goals from the frozen macro) -> curriculum starts -> Monitor."""

    def make() -> Any:
        env = MicroEnv(inputs.arrays, cfg, goals, inputs.train_range, market)
        return Monitor(CurriculumStarts(env, curriculum))

    return DummyVecEnv([make])


def build_micro_model(venv: Any, cfg: Config, pretrained: dict[str, Any], seed: int) -> WarmStartTD3:
    """TD3(MicroPolicy) with ``HerReplayBuffer`` (``rl.micro_her``; future strategy, ``her_n_sampled_goal``, infos
    copied so the vectorised ``compute_reward`` sees the goal-free reward), initialised from the Phase 2 payload."""
    rl = cfg.rl
    kw = pretrained["kwargs"]
    layout = MicroObsLayout(kw["n_stocks"], kw["n_features"], kw["n_macro"], kw["n_sectors"])
    n_actions = venv.action_space.shape[0]
    model = WarmStartTD3(
        MicroPolicy,
        venv,
        policy_kwargs=micro_policy_kwargs(layout, kw["stock_sector"], hidden_dim=kw["hidden_dim"], dropout=0.0),
        replay_buffer_class=HerReplayBuffer if rl.micro_her else None,  # None: SB3's DictReplayBuffer
        replay_buffer_kwargs=dict(
            copy_info_dict=True, n_sampled_goal=rl.her_n_sampled_goal, goal_selection_strategy="future"
        )
        if rl.micro_her
        else None,
        learning_rate=rl.micro_learning_rate,
        buffer_size=rl.micro_buffer_size,
        learning_starts=warmup_steps(cfg),
        batch_size=rl.micro_batch_size,
        train_freq=rl.micro_train_freq,
        gradient_steps=1,
        gamma=rl.micro_gamma,
        action_noise=NormalActionNoise(np.zeros(n_actions), rl.micro_action_noise * np.ones(n_actions)),
        actor_warmup_steps=rl.micro_actor_warmup_steps,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    load_pretrained_micro(model, pretrained["state_dict"])
    return model


def warmup_steps(cfg: Config) -> int:
    """Steps collected before the first update: at least one complete episode (HER samples only from those); an
    episode has one step per session (seed rewards) or per ``rl.micro_rebalance_days`` sessions (attributed)."""
    per_step = cfg.rl.micro_rebalance_days if cfg.rewards.mode == "attributed" else 1
    return max(cfg.rl.micro_learning_starts, -(-cfg.env.micro_episode_days // per_step) + 1)


def load_micro_model(path: str, venv: Any, cfg: Config) -> WarmStartTD3:
    """A saved Phase 4/5 micro model bound to ``venv``; its replay buffer starts empty, so updates wait for
    :func:`warmup_steps` new steps."""
    model = WarmStartTD3.load(path, env=venv, device="cpu")
    model.learning_starts = model.num_timesteps + warmup_steps(cfg)
    return model
