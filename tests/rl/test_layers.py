import numpy as np

from hrl_sarp.envs.goals import ConstantGoal, goal_matched
from hrl_sarp.envs.micro_env import MicroEnv
from hrl_sarp.rl.layers import MicroObservation, PolicyMicroLayer, macro_goal_schedule
from tests.rl.conftest import fixed_actor, make_hierarchy


def test_micro_observation_matches_micro_env(arrays, cfg):
    goal = np.array([0.4, 0.3, 0.2, 0.1])
    env = MicroEnv(arrays, cfg, ConstantGoal(goal, regime=1))
    obs, _ = env.reset(options={"start": 30})
    # in cash both read the achieved goal as equal weights over the sectors with a tradable name
    start = MicroObservation(arrays, cfg, env.market.tradable)(30, np.zeros(arrays.n_stocks), 0.0, goal, 1)
    np.testing.assert_array_equal(start["achieved_goal"], obs["achieved_goal"])
    assert obs["achieved_goal"].sum() == np.float32(1.0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
    built = MicroObservation(arrays, cfg)(env.sim.t, env.sim.weights, env.sim.drawdown, goal, 1)
    # the environment reports the executed (open) weights, the builder reads the weights held at the close
    np.testing.assert_array_equal(built["desired_goal"], obs["desired_goal"])
    n_feat = arrays.n_stocks * arrays.stock_features.shape[2]
    np.testing.assert_array_equal(built["observation"][:n_feat], obs["observation"][:n_feat])
    np.testing.assert_allclose(built["observation"][n_feat:], obs["observation"][n_feat:], atol=1e-6)
    np.testing.assert_allclose(built["achieved_goal"], obs["achieved_goal"], atol=0.02)  # the same mix, drifted


def test_goal_matched_puts_goal_weight_in_each_sector():
    sector_of = np.array([0, 0, 1, 1, 2])
    proposal = np.array([0.1, 0.3, 0.2, 0.2, 0.2])
    goal = np.array([0.5, 0.25, 0.25])
    w = goal_matched(proposal, goal, sector_of)
    np.testing.assert_allclose(np.bincount(sector_of, weights=w), goal)
    np.testing.assert_allclose(w[:2], [0.125, 0.375])  # ratios inside a sector are kept


def test_policy_layer_rebalances_on_schedule(arrays, cfg):
    h = make_hierarchy(cfg)
    layer = PolicyMicroLayer(fixed_actor(arrays.n_stocks), arrays, h.market, cfg, goal_matching=True, rebalance_days=5)
    goal = np.array([0.35, 0.35, 0.2, 0.1])
    from hrl_sarp.envs.simulator import PortfolioSimulator

    sim = PortfolioSimulator(h.market, cfg.costs, cfg.risk)
    sim.reset(40)
    proposal = layer(40, goal, 2, 0, sim)
    np.testing.assert_allclose(np.bincount(arrays.stock_sector, weights=proposal), goal)
    assert layer(41, goal, 2, 1, sim) is None


def test_goal_schedule_is_held_within_weeks(arrays, cfg):
    h = make_hierarchy(cfg)
    schedule = macro_goal_schedule(lambda obs: np.tanh(obs[:7]), arrays, h.inputs.macro_inputs, cfg, h.market.tradable)
    weeks = arrays.week_end_index
    for a, b in zip(weeks[:-1], weeks[1:], strict=True):
        block = schedule.sector_weights[a:b]
        assert np.all(block == block[0])
        np.testing.assert_allclose(block[0].sum(), 1.0)
        assert block[0].max() <= cfg.risk.sector_cap + 1e-12
    np.testing.assert_allclose(schedule.sector_weights[: weeks[0]], 1.0 / 4)
