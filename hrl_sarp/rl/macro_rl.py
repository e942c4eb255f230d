"""Phase 3: the macro agent with PPO (or RecurrentPPO) on MacroEnv, starting from the Phase 1 network, with the
micro layer frozen. Hyperparameters: ``cfg.rl.macro_*`` (one place, visible in :func:`build_macro_model`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from hrl_sarp.config import Config
from hrl_sarp.envs.goals import MicroLayer
from hrl_sarp.envs.macro_env import MacroEnv
from hrl_sarp.envs.simulator import MarketArrays
from hrl_sarp.policies.layout import MacroObsLayout
from hrl_sarp.policies.macro import MacroPolicy, load_pretrained_macro, macro_policy_kwargs
from hrl_sarp.rl.curriculum import Curriculum, CurriculumStarts, build_curriculum
from hrl_sarp.rl.inputs import RlInputs


def macro_starts(inputs: RlInputs, cfg: Config) -> np.ndarray:
    """Week-end rows inside the training range that leave room for one macro step."""
    weeks = np.asarray(inputs.arrays.week_end_index, dtype=np.int64)
    first, last = inputs.train_range
    return weeks[(weeks >= first) & (weeks <= last - cfg.env.macro_step_days)]


def macro_curriculum(inputs: RlInputs, cfg: Config, seed: int) -> Curriculum | None:
    days = cfg.env.macro_episode_weeks * cfg.env.macro_step_days
    return build_curriculum(
        inputs.arrays, cfg.rl.curriculum, inputs.train_range, days, macro_starts(inputs, cfg), seed=seed
    )


def macro_vec_env(
    inputs: RlInputs,
    cfg: Config,
    micro_layer: MicroLayer,
    market: MarketArrays,
    curriculum: Curriculum | None,
    normalize_stats: VecNormalize | None = None,
) -> VecNormalize:
    """MacroEnv over the training rows -> curriculum starts -> Monitor -> DummyVecEnv -> VecNormalize (reward
    scaling only: the policy standardises its own inputs with Phase 1 statistics). ``normalize_stats`` carries the
    reward statistics over from an earlier phase."""

    def make() -> Any:
        env = MacroEnv(inputs.arrays, cfg, inputs.macro_inputs, micro_layer, inputs.train_range, market)
        return Monitor(CurriculumStarts(env, curriculum))

    venv = VecNormalize(
        DummyVecEnv([make]), norm_obs=False, norm_reward=cfg.rl.normalize_reward, gamma=cfg.rl.macro_gamma
    )
    if normalize_stats is not None:
        venv.ret_rms = normalize_stats.ret_rms
    return venv


def build_macro_model(venv: Any, cfg: Config, pretrained: dict[str, Any], seed: int) -> Any:
    """PPO(MacroPolicy) — or RecurrentPPO(MlpLstmPolicy) on the same extractor — initialised from the Phase 1
    checkpoint payload ``pretrained`` (``kwargs`` + ``state_dict``). Dropout is off during RL."""
    rl = cfg.rl
    kw = pretrained["kwargs"]
    layout = MacroObsLayout(kw["n_macro"], kw["n_sectors"], kw["embedding_dim"])
    policy_kwargs = macro_policy_kwargs(
        layout, hidden_dim=kw["hidden_dim"], sector_id_dim=kw["sector_id_dim"], dropout=0.0
    )
    common = dict(
        learning_rate=rl.macro_learning_rate,
        n_steps=rl.macro_n_steps,
        batch_size=rl.macro_batch_size,
        n_epochs=rl.macro_n_epochs,
        gamma=rl.macro_gamma,
        clip_range=rl.macro_clip_range,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    if rl.algo == "recurrent_ppo":
        from sb3_contrib import RecurrentPPO

        from hrl_sarp.policies.macro import MacroFeaturesExtractor

        policy_kwargs.update(
            features_extractor_class=MacroFeaturesExtractor, log_std_init=rl.macro_log_std_init, ortho_init=False
        )
        model = RecurrentPPO("MlpLstmPolicy", venv, policy_kwargs=policy_kwargs, **common)
        policy = model.policy
        for extractor in {id(e): e for e in (policy.pi_features_extractor, policy.vf_features_extractor)}.values():
            extractor.load_state_dict(pretrained["state_dict"])
        return model
    from stable_baselines3 import PPO

    policy_kwargs["log_std_init"] = rl.macro_log_std_init
    model = PPO(MacroPolicy, venv, policy_kwargs=policy_kwargs, **common)
    load_pretrained_macro(model, pretrained["state_dict"])
    # The identity action head passes the pretrained sector logits through; starting from a shrunk copy keeps the
    # pretrained ranking but halves its bets (Phase 1's tilts are noisy: validation rank IC about 0.05), and PPO
    # learns the scale from there.
    with torch.no_grad():
        model.policy.action_net.weight[: kw["n_sectors"]] *= rl.macro_tilt_init
    return model


def load_macro_model(path: str, venv: Any, cfg: Config) -> Any:
    """A saved Phase 3/5 macro model bound to ``venv``."""
    if cfg.rl.algo == "recurrent_ppo":
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO.load(path, env=venv, device="cpu")
    from stable_baselines3 import PPO

    return PPO.load(path, env=venv, device="cpu", custom_objects={"policy_class": MacroPolicy})
