"""The pretrained macro network drives PPO unchanged: same deterministic action on the same observation."""

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from hrl_sarp.policies import macro


def _pretrained(layout, seed=3):
    torch.manual_seed(seed)
    net = macro.MacroFeaturesExtractor(macro.observation_space(layout), layout.n_macro, layout.n_sectors,
                                       layout.embedding_dim, hidden_dim=16)  # fmt: skip
    rng = np.random.default_rng(seed)
    net.set_normalization(rng.normal(size=layout.macro_state_dim), 1 + rng.random(layout.macro_state_dim),
                          rng.normal(size=layout.embedding_dim), 1 + rng.random(layout.embedding_dim))  # fmt: skip
    return net.eval()


def test_extractor_shapes_and_bounds(macro_layout):
    net = _pretrained(macro_layout)
    obs = torch.as_tensor(np.random.default_rng(0).normal(size=(9, macro_layout.size)) * 5, dtype=torch.float32)
    with torch.no_grad():
        features = net(obs)
        action = net.act(obs)
    assert features.shape == (9, macro_layout.action_dim + 16)
    assert action.shape == (9, macro_layout.n_sectors + 3)
    assert float(action.abs().max()) <= 1.0


def test_rejects_wrong_observation_size(macro_layout):
    import gymnasium as gym

    with pytest.raises(ValueError, match="layout expects"):
        macro.MacroFeaturesExtractor(gym.spaces.Box(-1, 1, (macro_layout.size + 1,)), 5, 4, 3)


def test_ppo_on_pretrained_weights_matches_network(macro_env, macro_layout):
    net = _pretrained(macro_layout)
    model = PPO(macro.MacroPolicy, macro_env, n_steps=16, batch_size=8, seed=1, device="cpu",
                policy_kwargs=macro.macro_policy_kwargs(macro_layout, hidden_dim=16))  # fmt: skip
    obs = np.random.default_rng(5).normal(size=(11, macro_layout.size)).astype(np.float32)
    before, _ = model.predict(obs, deterministic=True)
    with torch.no_grad():
        expected = net.act(torch.as_tensor(obs)).numpy()
    assert np.abs(before - expected).max() > 1e-3  # a fresh PPO is not the pretrained network

    macro.load_pretrained_macro(model, net.state_dict())
    action, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(action, expected, atol=1e-6)
    # the distribution's mean is exactly the pretrained action; exploration noise is small (log_std = -1)
    dist = model.policy.get_distribution(torch.as_tensor(obs))
    np.testing.assert_allclose(dist.distribution.mean.detach().numpy(), expected, atol=1e-6)
    assert np.allclose(dist.distribution.stddev.detach().numpy(), np.exp(-1.0))
    # the critic has its own copy of the extractor: PPO value-loss updates cannot move the actor's extractor
    assert model.policy.vf_features_extractor is not model.policy.pi_features_extractor


def test_ppo_save_load_keeps_pretrained_action(macro_env, macro_layout, tmp_path):
    net = _pretrained(macro_layout)
    model = PPO(macro.MacroPolicy, macro_env, n_steps=16, batch_size=8, seed=1, device="cpu",
                policy_kwargs=macro.macro_policy_kwargs(macro_layout, hidden_dim=16))  # fmt: skip
    macro.load_pretrained_macro(model, net.state_dict())
    model.save(tmp_path / "ppo.zip")
    loaded = PPO.load(tmp_path / "ppo.zip", device="cpu")
    obs = np.random.default_rng(6).normal(size=(4, macro_layout.size)).astype(np.float32)
    with torch.no_grad():
        expected = net.act(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(loaded.predict(obs, deterministic=True)[0], expected, atol=1e-6)
    model.learn(32)  # the policy trains without shape errors
