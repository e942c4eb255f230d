import dataclasses

import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env

from hrl_sarp.config import Config, EnvConfig, RewardConfig
from hrl_sarp.envs import rewards as rw
from hrl_sarp.envs.goals import ConstantGoal, ScheduledGoal
from hrl_sarp.envs.micro_env import MicroEnv
from hrl_sarp.errors import HrlSarpError

DEFAULT = Config()  # attributed rewards: the deployed problem (goal-matched, weekly decisions)
CONFIG = Config(rewards=RewardConfig(mode="seed"))  # the seed's daily problem and reward mix


@pytest.mark.parametrize("config", [DEFAULT, CONFIG], ids=["attributed", "seed"])
def test_check_env_passes(arrays, config):
    check_env(MicroEnv(arrays, config))


def test_observation_layout(arrays):
    env = MicroEnv(arrays, CONFIG.model_copy(update={"env": EnvConfig(max_stocks=10)}))
    obs, _ = env.reset(options={"start": 30})
    n, f = arrays.n_stocks, arrays.stock_features.shape[2]
    o = obs["observation"]
    assert o.shape == (10 * f + 10 + arrays.macro.shape[1] + 1 + 3,)
    np.testing.assert_allclose(o[: n * f], arrays.stock_features[30].ravel(), rtol=1e-6)
    assert (o[n * f : 10 * f] == 0).all()  # padded names
    obs, *_ = env.step(np.linspace(-1, 1, 10, dtype=np.float32))
    o = obs["observation"]
    np.testing.assert_allclose(o[10 * f : 10 * f + n], env.sim.weights, rtol=1e-6)
    np.testing.assert_allclose(o[10 * f + 10 : 10 * f + 10 + 3], arrays.macro[31], rtol=1e-6)
    assert o[-3:].tolist() == [0.0, 0.0, 1.0]  # Sideways goal
    assert obs["desired_goal"] == pytest.approx(np.full(3, 1 / 3))


def test_masked_names_get_no_weight(make_arrays):
    arrays = make_arrays(n_stocks=15)
    tradable = arrays.tradable.copy()
    tradable[:, 2] = False
    config = CONFIG.model_copy(update={"env": EnvConfig(max_stocks=20)})
    env = MicroEnv(dataclasses.replace(arrays, tradable=tradable), config)
    env.reset(options={"start": 30})
    action = np.zeros(20, dtype=np.float32)
    action[15:] = 1.0  # padding logits are ignored
    env.step(action)
    w = env.executed_weights
    assert w[2] == 0.0
    np.testing.assert_allclose(np.delete(w, 2), 0.98 / 14, atol=1e-15)


def test_reward_matches_hand_computation(arrays):
    cfg = CONFIG.rewards
    env = MicroEnv(arrays, CONFIG)
    obs, _ = env.reset(options={"start": 40})
    rets = [0.0] * cfg.portfolio_window_days
    rng = np.random.default_rng(0)
    for _ in range(8):
        t = env.sim.t
        action = rng.uniform(-1, 1, arrays.n_stocks).astype(np.float32)
        desired = obs["desired_goal"]
        obs, reward, _, _, info = env.step(action)
        rets = rets[1:] + [info["return"]]
        executed = env.executed_weights
        sector = np.bincount(arrays.stock_sector, weights=executed, minlength=3)
        achieved = sector / executed.sum()
        np.testing.assert_allclose(obs["achieved_goal"], achieved, rtol=1e-6)
        sharpe = rw.sharpe_ratio(np.array(rets[-cfg.sharpe_window_days :]), cfg.sharpe_std_floor)
        # the env rounds the cosine to float32 (the goals' dtype) so batched and single rewards agree exactly
        cos = float(np.float32(rw.cosine_similarity(obs["achieved_goal"].astype(float), desired.astype(float))))
        r_micro = rw.micro_reward(
            sharpe,
            cos,
            info["drawdown"],
            cfg.micro_sharpe_weight,
            cfg.micro_goal_weight,
            cfg.micro_drawdown_weight,
            cfg.micro_drawdown_free,
        )
        r_port, _, _ = rw.portfolio_reward_from_returns(np.array(rets), info["cost"], cfg.calmar_drawdown_floor)
        pe_z = executed @ arrays.stock_features[t, :, 2] / executed.sum()
        r_value = rw.value_reward(info["return"], pe_z, cfg.value_pe_z_threshold)
        expected = rw.mix_rewards({"micro": r_micro, "portfolio": r_port, "value": r_value}, cfg.micro_mix)
        assert reward == pytest.approx(float(expected), abs=1e-10)
        assert info["sharpe_week"] == pytest.approx(float(sharpe), abs=1e-10)


def test_compute_reward_vectorised_and_relabelled(arrays):
    env = MicroEnv(arrays, CONFIG)
    env.reset(options={"start": 40})
    infos = []
    for _ in range(3):
        obs, reward, _, _, info = env.step(np.linspace(-1, 1, arrays.n_stocks, dtype=np.float32))
        infos.append(info)
    goals = np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 0.0]], dtype=np.float32)
    achieved = np.tile(obs["achieved_goal"], (3, 1))
    batch = env.compute_reward(achieved, goals, np.array(infos))
    single = [env.compute_reward(achieved[i], goals[i], infos[i]) for i in range(3)]
    np.testing.assert_array_equal(batch, single)
    assert batch[2] == pytest.approx(infos[2]["goal_free_reward"])  # zero goal -> cosine 0
    with pytest.raises(HrlSarpError, match="copy_info_dict"):
        env.compute_reward(achieved, goals, np.array([{}, {}, {}]))


def test_reward_uses_goal_in_force_at_decision(arrays):
    goals = np.zeros((arrays.n_dates, 3))
    goals[:, 0] = 1.0
    goals[45:, :] = [0.0, 0.0, 1.0]
    env = MicroEnv(arrays, CONFIG, goal_provider=ScheduledGoal(goals, np.zeros(arrays.n_dates, int)))
    obs, _ = env.reset(options={"start": 44})
    assert obs["desired_goal"].tolist() == [1.0, 0.0, 0.0]
    obs, reward, _, _, info = env.step(np.zeros(arrays.n_stocks, dtype=np.float32))
    assert obs["desired_goal"].tolist() == [0.0, 0.0, 1.0]  # next decision's goal
    assert reward == pytest.approx(env.compute_reward(obs["achieved_goal"], np.array([1.0, 0, 0]), info))


def test_episode_truncates_and_starts_in_range(arrays):
    env = MicroEnv(
        arrays,
        CONFIG.model_copy(update={"env": EnvConfig(micro_episode_days=5)}),
        date_range=(30, 60),
        goal_provider=ConstantGoal(np.array([0.5, 0.25, 0.25])),
    )
    for seed in range(5):
        _, info = env.reset(seed=seed)
        assert 30 <= info["t"] <= 55
        done, steps = False, 0
        while not done:
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            done, steps = term or trunc, steps + 1
        assert steps == 5


def test_achieved_goals_stay_allocations_when_the_gate_empties_the_book(arrays):
    """HER relabels with achieved goals: a closed drawdown gate (all cash) must not turn them into zero vectors,
    which no macro goal ever is. The achieved goal is the sector mix the agent chose."""
    risk = CONFIG.risk.model_copy(
        update={"drawdown_rule": "gate", "drawdown_gate": 0.002, "drawdown_reenter": 0.001, "gated_exposure": 0.0}
    )
    env = MicroEnv(arrays, CONFIG.model_copy(update={"risk": risk}))
    obs, _ = env.reset(options={"start": 30})
    assert obs["achieved_goal"].sum() == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    gated = 0
    for _ in range(40):
        obs, _, _, truncated, info = env.step(rng.uniform(-1, 1, arrays.n_stocks).astype(np.float32))
        gated += bool(info["gated"]) and env.executed_weights.sum() == 0
        assert obs["achieved_goal"].sum() == pytest.approx(1.0, abs=1e-6)
        chosen = np.bincount(arrays.stock_sector, weights=env.sim.proposed, minlength=arrays.n_sectors)
        np.testing.assert_allclose(obs["achieved_goal"], chosen / chosen.sum(), rtol=1e-6)
        if truncated:
            break
    assert gated > 0  # the gate did empty the book on some steps


# --- attributed rewards (the default): the problem the micro agent serves --------------------------------------------


def test_attributed_steps_are_goal_matched_and_held_to_the_next_week_end(make_arrays):
    arrays = make_arrays(n_stocks=30)  # enough names that the stock cap leaves the sector mix alone
    goal = np.array([0.34, 0.35, 0.31])  # inside the sector cap
    env = MicroEnv(arrays, DEFAULT, goal_provider=ConstantGoal(goal))
    assert env.attributed and env.goal_matching and env.rebalance_days == DEFAULT.rl.micro_rebalance_days == 5
    weeks = arrays.week_end_index.tolist()
    env.reset(options={"start": weeks[5]})
    rng = np.random.default_rng(3)
    for _ in range(4):
        t = env.sim.t
        # mild logits: no stock cap binds, so the risk pipeline keeps the goal-matched sector mix
        _, _, _, _, info = env.step(rng.uniform(-0.1, 0.1, arrays.n_stocks).astype(np.float32))
        assert info["t"] == t and env.sim.t == weeks[weeks.index(t) + 1]  # one decision, held to the next week end
        chosen = np.bincount(arrays.stock_sector, weights=env.sim.proposed, minlength=3)
        np.testing.assert_allclose(chosen / chosen.sum(), goal, atol=1e-9)  # every sector holds its goal weight
    starts = [env.reset(seed=seed)[1]["t"] for seed in range(6)]
    assert set(starts) <= set(weeks)  # random starts at week ends, as deployed
    short = [w for w, nxt in zip(weeks, weeks[1:], strict=False) if nxt - w < 5]
    assert env._hold_days(weeks[3]) == min(5, weeks[4] - weeks[3])
    if short:  # a short (holiday) week is held only to its end
        assert env._hold_days(short[0]) < 5


def test_attributed_reward_is_the_active_return_of_the_picks_under_the_goal(make_arrays):
    """By hand: g @ (return of the executed names inside each sector - the sector's equal weight) - cost caused.
    A known-good pick (each sector's best name over the held sessions) earns more than equal weights (reward 0
    before costs), and a different action changes the reward."""
    arrays = make_arrays(n_stocks=30)  # ten names a sector: the stock cap trims a concentrated pick, not all of it
    goal = np.array([0.34, 0.35, 0.31])
    env = MicroEnv(arrays, DEFAULT, goal_provider=ConstantGoal(goal))
    n, start = arrays.n_stocks, int(arrays.week_end_index[6])
    end = start + env._hold_days(start)
    period = np.prod(1.0 + env.market.returns[start + 1 : end + 1], axis=0) - 1.0  # rows t+1 .. the next week end

    def reward_of(action: np.ndarray) -> tuple[float, dict, np.ndarray]:
        env.reset(options={"start": start})
        _, reward, _, _, info = env.step(action.astype(np.float32))
        assert env.sim.t == end
        return reward, info, env.sim.proposed.copy()

    equal, info_eq, _ = reward_of(np.zeros(n))
    np.testing.assert_allclose(info_eq["sector_active"], 0.0, atol=1e-15)
    assert equal == pytest.approx(info_eq["r_cost"]) and info_eq["r_cost"] == pytest.approx(0.0, abs=1e-15)
    best = np.full(n, -1.0)
    for s in range(3):
        members = np.flatnonzero(arrays.stock_sector == s)
        best[members[np.argmax(period[members])]] = 1.0
    good, info, executed = reward_of(best)
    by_hand = 0.0
    for s in range(3):
        m = arrays.stock_sector == s
        by_hand += goal[s] * ((executed[m] / executed[m].sum()) @ period[m] - period[m].mean())
    assert info["r_active"] == pytest.approx(by_hand, rel=1e-7)  # compounding via logs vs products
    assert good == pytest.approx(by_hand + info["r_cost"], rel=1e-7)
    assert good > equal and info["r_active"] > 0
    worst, _, _ = reward_of(-best)
    assert worst < good


def test_attributed_compute_reward_relabels_with_the_same_picks(arrays):
    """HER: a relabelled goal g earns g @ R_active of the same step (batched == scalar bit for bit), and the
    achieved goals it relabels with are real allocations (sum 1), never all cash."""
    rng = np.random.default_rng(5)
    goals = rng.dirichlet(np.ones(3), size=arrays.n_dates)
    env = MicroEnv(arrays, DEFAULT, goal_provider=ScheduledGoal(goals, np.zeros(arrays.n_dates, int)))
    env.reset(options={"start": 30})
    infos, achieved = [], []
    for _ in range(4):
        obs, _, _, _, info = env.step(rng.uniform(-1, 1, arrays.n_stocks).astype(np.float32))
        infos.append(info)
        achieved.append(obs["achieved_goal"])
        assert obs["achieved_goal"].sum() == pytest.approx(1.0, abs=1e-6)
    relabelled = np.array(achieved, dtype=np.float32)[::-1]
    batch = env.compute_reward(np.array(achieved), relabelled, np.array(infos))
    single = [env.compute_reward(achieved[i], relabelled[i], infos[i]) for i in range(4)]
    np.testing.assert_array_equal(batch, single)
    for i in range(4):
        expected = float(relabelled[i].astype(np.float64) @ infos[i]["sector_active"]) + infos[i]["goal_free_reward"]
        assert batch[i] == pytest.approx(expected, rel=1e-12, abs=1e-15)
