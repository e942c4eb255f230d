"""The policy layouts read the real environments' observations: one layout, checked against both envs."""

from __future__ import annotations

import numpy as np
import torch

from hrl_sarp.config import load_config
from hrl_sarp.envs.macro_env import MacroEnv
from hrl_sarp.envs.micro_env import MicroEnv
from hrl_sarp.policies import macro, micro
from hrl_sarp.policies.layout import MacroObsLayout, MicroObsLayout


def _week_aligned(arrays, week_dates, emb):
    """(W, S, D) embeddings on the build's week ends (NaN before the first embedded week), as MacroEnv takes them."""
    out = np.full((len(arrays.week_end_index), arrays.n_sectors, emb.shape[2]), np.nan)
    at = np.searchsorted(arrays.dates[arrays.week_end_index], week_dates)
    out[at] = emb
    return out


def test_macro_env_observation_matches_layout(tiny_arrays, tiny_embeddings):
    week_dates, emb = tiny_embeddings
    cfg = load_config("demo")
    env = MacroEnv(tiny_arrays, cfg, sector_embeddings=_week_aligned(tiny_arrays, week_dates, emb))
    layout = MacroObsLayout(tiny_arrays.macro.shape[1], tiny_arrays.n_sectors, emb.shape[2])
    assert env.observation_space.shape == macro.observation_space(layout).shape
    assert env.action_space.shape == (layout.action_dim,)
    start = int(tiny_arrays.week_end_index[20])
    obs, _ = env.reset(options={"start": start})
    state, emb_obs, weights = layout.split(obs)
    np.testing.assert_allclose(state[:-1], tiny_arrays.macro[start], rtol=1e-6)
    np.testing.assert_allclose(emb_obs, emb[np.searchsorted(week_dates, tiny_arrays.dates[start], side="right") - 1],
                               rtol=1e-6)  # fmt: skip
    obs, *_ = env.step(np.ones(layout.action_dim, dtype=np.float32))
    _, _, weights = layout.split(obs)
    assert weights.sum() > 0.5  # the held sector weights sit where the layout reads them
    net = macro.MacroFeaturesExtractor(env.observation_space, layout.n_macro, layout.n_sectors, layout.embedding_dim)
    with torch.no_grad():
        assert net.act(torch.as_tensor(obs)[None]).shape == (1, layout.action_dim)


def test_micro_env_observation_matches_layout(tiny_arrays):
    cfg = load_config("demo", overrides={"env.max_stocks": tiny_arrays.n_stocks + 2})
    env = MicroEnv(tiny_arrays, cfg)
    n_slots = tiny_arrays.n_stocks + 2
    layout = MicroObsLayout(n_slots, tiny_arrays.stock_features.shape[2], tiny_arrays.macro.shape[1],
                            tiny_arrays.n_sectors)  # fmt: skip
    assert env.observation_space["observation"].shape == (layout.size,)
    assert env.action_space.shape == (layout.action_dim,)
    obs, _ = env.reset(options={"start": 100})
    obs, *_ = env.step(np.zeros(layout.action_dim, dtype=np.float32))
    t = 100 + env._hold_days(100)  # the decision is held to the next week end (attributed rewards)
    assert env.sim.t == t
    features, weights, state, regime = layout.split(obs["observation"])
    np.testing.assert_allclose(features[: tiny_arrays.n_stocks], tiny_arrays.stock_features[t], rtol=1e-5, atol=1e-6)
    assert not features[tiny_arrays.n_stocks :].any()  # padding
    np.testing.assert_allclose(state[:-1], tiny_arrays.macro[t], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights[: tiny_arrays.n_stocks], env.executed_weights, atol=1e-2)  # after drift
    assert regime.sum() == 1.0
    stock_sector = list(tiny_arrays.stock_sector) + [-1, -1]
    net = micro.MicroFeaturesExtractor(env.observation_space, layout.n_stocks, layout.n_features, layout.n_macro,
                                       layout.n_sectors, stock_sector)  # fmt: skip
    with torch.no_grad():
        action = net.act({k: torch.as_tensor(v)[None] for k, v in obs.items()})
    assert action.shape == (1, layout.action_dim)
