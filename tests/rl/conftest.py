"""Small deterministic hierarchies for RL tests: seeded test arrays, fresh (untrained) networks as "checkpoints"."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hrl_sarp.config import Config
from hrl_sarp.envs.simulator import MarketArrays
from hrl_sarp.policies.layout import MacroObsLayout
from hrl_sarp.policies.macro import MacroFeaturesExtractor
from hrl_sarp.policies.macro import observation_space as macro_space
from hrl_sarp.policies.micro import MicroFeaturesExtractor
from hrl_sarp.policies.micro import observation_space as micro_space
from hrl_sarp.rl.evaluation import SystemEvaluator
from hrl_sarp.rl.inputs import make_inputs
from hrl_sarp.rl.joint import Hierarchy
from hrl_sarp.rl.layers import micro_layout
from tests.envs.conftest import make_feature_arrays, sector_embeddings_from


def small_config(**rl: object) -> Config:
    """Short episodes and tiny RL budgets (seconds per phase)."""
    rl_settings = dict(
        macro_timesteps=64, macro_n_steps=32, macro_batch_size=16, macro_n_epochs=2, eval_every_steps=32,
        micro_timesteps=120, micro_learning_starts=40, micro_batch_size=16, micro_buffer_size=1000,
        micro_eval_every_steps=60, micro_actor_warmup_steps=60, phase5_rounds=2, phase5_macro_timesteps=32,
        phase5_micro_timesteps=40, patience=2,
    )  # fmt: skip
    rl_settings.update(rl)
    raw = Config().model_dump()
    raw["env"].update(macro_episode_weeks=6, micro_episode_days=15)
    raw["splits"].update(train_fraction=0.6, val_fraction=0.3, embargo_days=2)
    raw["rl"].update(rl_settings)
    return Config.model_validate(raw)


def rl_arrays(seed: int = 1):
    return make_feature_arrays(n_dates=300, n_stocks=24, n_sectors=4, seed=seed)


def make_hierarchy(cfg: Config, seed: int = 0) -> Hierarchy:
    arrays = rl_arrays()
    embeddings = sector_embeddings_from(arrays)
    inputs = make_inputs(arrays, embeddings.astype(float), cfg)
    torch.manual_seed(seed)
    dim = inputs.macro_inputs.shape[2]  # 0 when the config keeps the macro agent off the embeddings
    macro_kwargs = dict(n_macro=arrays.macro.shape[1], n_sectors=arrays.n_sectors, embedding_dim=dim,
                        hidden_dim=16, sector_id_dim=4, dropout=0.0)  # fmt: skip
    layout = MacroObsLayout(macro_kwargs["n_macro"], arrays.n_sectors, dim)
    macro_net = MacroFeaturesExtractor(macro_space(layout), **macro_kwargs)
    mlayout = micro_layout(arrays, cfg)
    micro_kwargs = dict(n_stocks=mlayout.n_stocks, n_features=mlayout.n_features, n_macro=mlayout.n_macro,
                        n_sectors=arrays.n_sectors, stock_sector=[int(s) for s in arrays.stock_sector], hidden_dim=16,
                        dropout=0.0)  # fmt: skip
    micro_net = MicroFeaturesExtractor(micro_space(mlayout), **micro_kwargs)
    market = MarketArrays.from_features(arrays, cfg.risk)
    evaluator = SystemEvaluator(arrays, cfg, embeddings, inputs.val_range, market)
    return Hierarchy(
        inputs,
        cfg,
        seed,
        market,
        evaluator,
        {"kwargs": macro_kwargs, "state_dict": macro_net.state_dict()},
        {"kwargs": micro_kwargs, "state_dict": micro_net.state_dict()},
        macro_net.eval(),
        micro_net.eval(),
    )


@pytest.fixture
def arrays():
    return rl_arrays()


@pytest.fixture
def cfg():
    return small_config()


def fixed_actor(n_out: int, value: float = 0.0):
    return lambda obs: np.full(n_out, value)
