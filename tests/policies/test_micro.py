"""The pretrained micro network drives TD3 (+HER) unchanged: actor and target actor equal the network."""

import numpy as np
import torch
from stable_baselines3 import TD3, HerReplayBuffer

from hrl_sarp.policies import micro


def _pretrained(layout, stock_sector, seed=4):
    torch.manual_seed(seed)
    net = micro.MicroFeaturesExtractor(micro.observation_space(layout), layout.n_stocks, layout.n_features,
                                       layout.n_macro, layout.n_sectors, stock_sector, hidden_dim=16)  # fmt: skip
    rng = np.random.default_rng(seed)
    net.set_normalization(rng.normal(size=layout.n_features), 1 + rng.random(layout.n_features),
                          rng.normal(size=layout.macro_state_dim), 1 + rng.random(layout.macro_state_dim))  # fmt: skip
    return net.eval()


def _obs(env, n, seed):
    env.observation_space.seed(seed)
    samples = [env._obs() for _ in range(n)]
    return {k: np.stack([s[k] for s in samples]) for k in samples[0]}


def test_goal_reaches_each_stock_through_its_sector(micro_layout, stock_sector, micro_env):
    net = _pretrained(micro_layout, stock_sector)
    obs = {k: torch.as_tensor(v) for k, v in _obs(micro_env, 3, 0).items()}
    changed = dict(obs)
    changed["desired_goal"] = obs["desired_goal"].clone()
    changed["desired_goal"][:, 2] += 0.5  # only sector 2's goal moves
    with torch.no_grad():
        assert net(obs).shape == (3, micro_layout.n_stocks + 16)
        action = net.act(obs)
        delta = (net.act(changed) - action).abs().sum(0)
    assert float(action.abs().max()) <= 1.0
    assert float(delta[4:6].min()) > 0  # sector-2 stocks respond
    assert float(delta[:4].max()) < float(delta[4:6].min())  # context shifts are smaller than the direct effect


def test_td3_with_her_on_pretrained_weights_matches_network(micro_layout, stock_sector, micro_env):
    net = _pretrained(micro_layout, stock_sector)
    model = TD3(
        micro.MicroPolicy, micro_env, learning_starts=8, buffer_size=200, batch_size=8, seed=2, device="cpu",
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs=dict(n_sampled_goal=4, goal_selection_strategy="future"),
        policy_kwargs=micro.micro_policy_kwargs(micro_layout, stock_sector, hidden_dim=16),
    )  # fmt: skip
    obs = _obs(micro_env, 6, 1)
    with torch.no_grad():
        expected = net.act({k: torch.as_tensor(v) for k, v in obs.items()}).numpy()
    before, _ = model.predict(obs, deterministic=True)
    assert np.abs(before - expected).max() > 1e-3

    micro.load_pretrained_micro(model, net.state_dict())
    action, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(action, expected, atol=1e-6)
    tensors = {k: torch.as_tensor(v) for k, v in obs.items()}
    with torch.no_grad():
        np.testing.assert_allclose(model.actor_target(tensors).numpy(), expected, atol=1e-6)
    critic_state = model.critic.features_extractor.state_dict()
    for key, value in net.state_dict().items():
        assert torch.equal(critic_state[key], value)
    model.learn(24)  # trains with HER without shape errors
