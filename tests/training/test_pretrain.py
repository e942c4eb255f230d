"""Phase 1/2 pretraining on a small hand-built build with planted signals (see conftest.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO, TD3

from hrl_sarp.config import SplitConfig, load_config
from hrl_sarp.errors import ConfigError, InputError
from hrl_sarp.policies import macro, micro
from hrl_sarp.policies.layout import MacroObsLayout, MicroObsLayout
from hrl_sarp.training import pretrain as pt


class _SpaceEnv(gym.Env):
    """Only the spaces matter: SB3 needs an env to build a model around the policy."""

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


def _cfg(**overrides):
    base = {"pretrain.macro_epochs": 60, "pretrain.micro_epochs": 8, "pretrain.patience": 5}
    return load_config("demo", overrides={**base, **overrides})


@pytest.fixture(scope="module")
def macro_result(tiny_arrays, tiny_embeddings):
    return pt.pretrain_macro(tiny_arrays, *tiny_embeddings, _cfg())


@pytest.fixture(scope="module")
def micro_result(tiny_arrays):
    return pt.pretrain_micro(tiny_arrays, _cfg())


def test_time_split_has_embargo():
    split = pt.time_split(1000, SplitConfig(train_fraction=0.6, val_fraction=0.2, embargo_days=5))
    assert (split.train_end, split.val_start, split.val_end) == (600, 605, 800)


def test_allocation_targets_and_rank_ic():
    r = np.array([[0.01, -0.02, 0.03], [0.0, 0.0, 0.0]])
    q = pt.allocation_targets(r, temperature=1.0)
    np.testing.assert_allclose(q.sum(1), 1.0)
    assert q[0].argmax() == 2 and q[0].argmin() == 1
    np.testing.assert_allclose(q[1], 1 / 3)
    ic = pt.rank_ic(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [1.0, 1.0, 1.0]]), np.array([[1.0, 2.0, 3.0]] * 3))
    np.testing.assert_allclose(ic[:2], [1.0, -1.0])
    assert np.isnan(ic[2])


def test_within_sector_shares_sum_to_one_per_sector():
    onehot = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
    forward = np.array([[0.02, -0.01, 0.05, np.nan]])
    valid = np.array([[True, True, True, False]])
    shares = pt.within_sector_shares(forward, valid, onehot, temperature=1.0)
    np.testing.assert_allclose(shares @ onehot, [[1.0, 1.0]])
    assert shares[0, 0] > shares[0, 1] and shares[0, 3] == 0 and shares[0, 2] == 1.0


def test_macro_examples_align_embeddings_and_labels(tiny_arrays, tiny_embeddings):
    week_dates, emb = tiny_embeddings
    ex = pt.macro_examples(tiny_arrays, week_dates, emb, daily=False)
    assert len(ex.rows) == len(week_dates) - 1  # the last embedded week has no following week
    assert tiny_arrays.dates[ex.rows[0]] == week_dates[0]  # warm-up weeks without embeddings are skipped
    t, t_next = ex.rows[3], ex.next_rows[3]
    expected = np.prod(1 + tiny_arrays.sector_returns[t + 1 : t_next + 1], axis=0) - 1
    np.testing.assert_allclose(ex.next_returns[3], expected)
    assert ex.next_regime[3] == tiny_arrays.regime_labels[t_next]
    np.testing.assert_array_equal(ex.embeddings[3], emb[3])


def test_macro_examples_without_embeddings_is_a_clear_error(tiny_arrays):
    with pytest.raises(InputError, match="fit-gnn"):
        pt.macro_examples(tiny_arrays, np.array([], dtype="datetime64[D]"), np.zeros((0, 3, 4)))


def test_phase1_beats_majority_baseline_with_positive_rank_ic(macro_result):
    s = macro_result.summary
    assert s["val_regime_accuracy"] > s["majority_baseline_accuracy"] + 0.2
    assert s["val_rank_ic"] > 0.2
    assert s["n_train_samples"] > 250 and s["n_val_samples"] > 100
    h = macro_result.history
    assert set(h) >= {"train_loss", "val_loss", "val_regime_accuracy", "val_rank_ic"}
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert s["val_loss"] == min(h["val_loss"])  # the kept weights are the best validation epoch


def test_phase2_beats_equal_weight_inside_goal_sectors(micro_result):
    s = micro_result.summary
    assert s["val_return_goal_matched"] > s["val_return_equal_weight"]
    assert s["val_excess_return"] > 0
    assert s["val_goal_cosine"] > 0.95  # the allocation follows the sampled sector goals
    assert s["val_return_oracle_target"] > s["val_return_goal_matched"]


def test_same_seed_same_metrics_and_weights(tiny_arrays, tiny_embeddings, macro_result, micro_result):
    again = pt.pretrain_macro(tiny_arrays, *tiny_embeddings, _cfg())
    assert again.summary == macro_result.summary
    assert again.history == macro_result.history
    for key, value in macro_result.network.state_dict().items():
        assert torch.equal(again.network.state_dict()[key], value)
    micro_again = pt.pretrain_micro(tiny_arrays, _cfg())
    assert micro_again.summary == micro_result.summary
    other = pt.pretrain_micro(tiny_arrays, _cfg(seed=7))
    assert other.summary != micro_result.summary


def test_split_too_short_is_a_clear_error(tiny_arrays, tiny_embeddings):
    with pytest.raises(InputError, match="both splits"):
        pt.pretrain_macro(tiny_arrays, *tiny_embeddings, _cfg(**{"splits.train_fraction": 0.05}))


def test_pretrained_macro_drives_ppo(tiny_arrays, tiny_embeddings, macro_result):
    week_dates, emb = tiny_embeddings
    layout = MacroObsLayout(tiny_arrays.macro.shape[1], tiny_arrays.n_sectors, emb.shape[2])
    env = _SpaceEnv(macro.observation_space(layout), macro.action_space(layout))
    kwargs = {k: v for k, v in macro_result.kwargs.items() if k not in ("n_macro", "n_sectors", "embedding_dim")}
    model = PPO(macro.MacroPolicy, env, n_steps=16, batch_size=8, seed=0, device="cpu",
                policy_kwargs=macro.macro_policy_kwargs(layout, **kwargs))  # fmt: skip
    macro.load_pretrained_macro(model, macro_result.network.state_dict())
    rows = tiny_arrays.week_end_index[-6:-1]
    obs = layout.build(tiny_arrays.macro[rows], np.full(5, 0.02), emb[-6:-1], np.full((5, 3), 1 / 3))
    with torch.no_grad():
        expected = macro_result.network.act(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(model.predict(obs, deterministic=True)[0], expected, atol=1e-6)


def test_pretrained_micro_drives_td3(tiny_arrays, micro_result):
    k = micro_result.kwargs
    layout = MicroObsLayout(k["n_stocks"], k["n_features"], k["n_macro"], k["n_sectors"])
    env = _SpaceEnv(micro.observation_space(layout), micro.action_space(layout))
    model = TD3(micro.MicroPolicy, env, seed=0, device="cpu", learning_starts=10, buffer_size=100,
                policy_kwargs=micro.micro_policy_kwargs(layout, k["stock_sector"], hidden_dim=k["hidden_dim"]))  # fmt: skip
    micro.load_pretrained_micro(model, micro_result.network.state_dict())
    rows = np.arange(200, 205)
    weights = np.full((5, layout.n_stocks), 1 / layout.n_stocks)
    obs = {
        "observation": layout.build(
            tiny_arrays.stock_features[rows], weights, tiny_arrays.macro[rows], np.zeros(5), np.eye(3)[[0, 1, 2, 2, 1]]
        ),
        "achieved_goal": np.full((5, 3), 1 / 3, dtype=np.float32),
        "desired_goal": np.tile(np.array([0.6, 0.3, 0.1], dtype=np.float32), (5, 1)),
    }
    with torch.no_grad():
        expected = micro_result.network.act({k: torch.as_tensor(v) for k, v in obs.items()}).numpy()
    np.testing.assert_allclose(model.predict(obs, deterministic=True)[0], expected, atol=1e-6)


def test_phase1_learns_the_planted_ranking_without_embeddings(tiny_arrays, tiny_embeddings):
    """env.macro_embeddings off: Phase 1 sees no embeddings (D = 0) and still reads the planted macro signal."""
    week_dates, emb = tiny_embeddings
    result = pt.pretrain_macro(tiny_arrays, week_dates, emb[..., :0], _cfg())
    assert result.kwargs["embedding_dim"] == 0
    assert result.summary["val_rank_ic"] > 0.2


def test_linear_start_recovers_planted_loadings():
    """The closed-form start: per-sector macro loadings and one shared read of the sector blocks, by ridge."""
    rng = np.random.default_rng(0)
    K, S, M, D = 4000, 5, 3, 2
    x = rng.standard_normal((K, M))
    blocks = rng.standard_normal((K, S, D))
    loadings = rng.standard_normal((S, M))
    shared = np.array([0.8, -0.5])
    y = x @ loadings.T + 0.3 + blocks @ shared + 0.5 * rng.standard_normal((K, S))
    b, intercepts, g = pt.linear_start(x, blocks, y, penalty=1.0)
    np.testing.assert_allclose(b, loadings, atol=0.05)
    np.testing.assert_allclose(g, shared, atol=0.03)
    np.testing.assert_allclose(intercepts, 0.3, atol=0.05)
    shrunk, _, g_shrunk = pt.linear_start(x, blocks, y, penalty=1e5)  # the penalty shrinks every loading
    assert np.abs(shrunk).sum() < 0.2 * np.abs(b).sum() and np.abs(g_shrunk).sum() < 0.2 * np.abs(g).sum()


def test_ridge_start_is_held_through_the_gradient_epochs(tiny_arrays, tiny_embeddings, macro_result):
    """pretrain.macro_linear_start ridge (default): the linear sector paths keep their closed-form values and carry
    the planted ranking; zero: they start at 0 and only gradient training moves them."""
    net = macro_result.network
    assert not net.sector_linear.weight.requires_grad and net.sector_linear.weight.abs().sum() > 0
    assert macro_result.summary["val_rank_ic"] > 0.2
    week_dates, emb = tiny_embeddings
    cfg = _cfg(**{"pretrain.macro_epochs": 1})
    once = pt.pretrain_macro(tiny_arrays, week_dates, emb, cfg).network
    torch.testing.assert_close(once.sector_linear.weight, net.sector_linear.weight)  # the same solved start
    zero_cfg = _cfg(**{"pretrain.macro_linear_start": "zero", "pretrain.allocation_weight": 1.0})
    zero = pt.pretrain_macro(tiny_arrays, week_dates, emb, zero_cfg).network
    assert zero.sector_linear.weight.requires_grad and zero.sector_linear.weight.abs().sum() > 0  # it learnt
    assert not torch.allclose(zero.sector_linear.weight, net.sector_linear.weight)
    with pytest.raises(ConfigError, match="trains nothing of the sector scores"):  # zero start, no loss: uniform
        _cfg(**{"pretrain.macro_linear_start": "zero"})
