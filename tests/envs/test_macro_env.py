import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env

from hrl_sarp.config import Config
from hrl_sarp.envs import rewards as rw
from hrl_sarp.envs.goals import within_sector_weights
from hrl_sarp.envs.macro_env import MacroEnv, allocate
from hrl_sarp.envs.weights import project_capped_simplex
from hrl_sarp.errors import HrlSarpError

CONFIG = Config()
# the seed's rules: softmax allocation re-decided in full every week, the seed's reward mix
SEED = Config.model_validate(
    {"env": {"macro_allocation": "softmax", "macro_trade_rate": 1.0}, "rewards": {"mode": "seed"}}
)


def test_check_env_passes(arrays, embeddings_from):
    check_env(MacroEnv(arrays, CONFIG, embeddings_from(arrays)))


def test_observation_and_embedding_alignment(arrays, embeddings_from):
    emb = embeddings_from(arrays)
    env = MacroEnv(arrays, CONFIG, emb)
    obs, _ = env.reset(options={"start": 33})  # week ends at rows 4, 9, ..., 29, 34: row 33 sees week 5 (row 29)
    m, s, e = arrays.macro.shape[1], arrays.n_sectors, emb.shape[2]
    assert obs.shape == (m + 1 + s * e + s,)
    np.testing.assert_allclose(obs[:m], arrays.macro[33], rtol=1e-6)
    np.testing.assert_allclose(obs[m + 1 : m + 1 + s * e], emb[5].ravel(), rtol=1e-5, atol=1e-7)
    obs, _ = env.reset(options={"start": 34})
    np.testing.assert_allclose(obs[m + 1 : m + 1 + s * e], emb[6].ravel(), rtol=1e-5, atol=1e-7)
    with pytest.raises(HrlSarpError, match="embeddings shape"):
        MacroEnv(arrays, CONFIG, emb[:, :2])


def test_reward_components_by_hand(make_arrays, embeddings_from):
    cfg = SEED.rewards
    arrays = make_arrays(n_stocks=15, n_sectors=5)
    env = MacroEnv(arrays, SEED, embeddings_from(arrays))
    env.reset(options={"start": 39})
    action = np.array([1.0, 0.2, 0.0, -1.0, -0.5, -1.0, 0.5, 1.0], dtype=np.float32)  # regime -> Sideways (2)
    p = np.exp(CONFIG.env.logit_scale * action[:5].astype(float))
    sector_w = env.sector_weights(action, 39)
    assert sector_w[:2] == pytest.approx([0.35, 0.35], abs=1e-12)  # both capped
    assert sector_w.sum() == pytest.approx(1.0, abs=1e-12)
    # the uncapped sectors share the rest in their softmax ratios
    np.testing.assert_allclose(sector_w[2:], 0.3 * p[2:] / p[2:].sum(), rtol=1e-12)
    _, reward, _, _, info = env.step(action)
    assert (info["t"], info["t_end"]) == (39, 44)
    days = slice(40, 45)
    sector_ret = np.prod(1 + arrays.sector_returns[days], axis=0) - 1
    bench = np.prod(1 + arrays.benchmark_returns[days]) - 1
    alpha = sector_w @ sector_ret - bench
    r_macro = alpha - 0.1 * (sector_w**2).sum() - 0.001 * np.abs(sector_w).sum()  # from cash: turnover = 1
    assert info["r_macro"] == pytest.approx(r_macro, abs=1e-12)
    assert info["regime"] == 2
    assert info["r_regime"] == (0.3 if arrays.regime_labels[44] == 2 else -0.1)
    # the micro rule bought equal weights inside each sector on day one, then held
    first = within_sector_weights(sector_w, arrays.stock_sector, np.ones(arrays.n_stocks, bool), 5)
    assert first.sum() == pytest.approx(1.0)
    rets = np.zeros(cfg.portfolio_window_days)
    navs = [CONFIG.env.initial_nav]
    env2 = MacroEnv(arrays, SEED, embeddings_from(arrays))
    env2.reset(options={"start": 39})
    env2.sim.reset(39)
    for day in range(5):
        res = env2.sim.step(first if day == 0 else None)
        navs.append(res.nav)
        if day == 0:
            executed = res.weights
    rets[-5:] = np.diff(navs) / navs[:-1]
    assert info["week_return"] == pytest.approx(navs[-1] / navs[0] - 1, abs=1e-12)
    r_port, _, _ = rw.portfolio_reward_from_returns(rets, info["cost"], cfg.calmar_drawdown_floor)
    assert info["r_portfolio"] == pytest.approx(r_port, abs=1e-10)
    # 0.35 / 3 names > the 10% stock cap: the simulator caps them and spreads the excess over other sectors
    np.testing.assert_allclose(executed, project_capped_simplex(first, 0.98, 0.1, arrays.stock_sector, 0.35, 5))
    assert executed.max() == pytest.approx(0.1, abs=1e-12)
    pe_z = executed @ arrays.stock_features[39, :, 2] / executed.sum()
    assert info["r_value"] == pytest.approx(rw.value_reward(info["week_return"], pe_z, -0.5), abs=1e-15)
    total = 0.4 * info["r_macro"] + 0.3 * info["r_portfolio"] + 0.2 * info["r_regime"] + 0.1 * info["r_value"]
    assert reward == pytest.approx(total, abs=1e-12)


def test_second_step_turnover_is_sector_change(arrays):
    env = MacroEnv(arrays, SEED)
    env.reset(options={"start": 39})
    a1 = np.array([1.0, 0.0, -1.0, 0, 0, 1], dtype=np.float32)
    a2 = np.array([-1.0, 0.0, 1.0, 0, 0, 1], dtype=np.float32)
    w1 = env.sector_weights(a1, 39)
    env.step(a1)
    w2 = env.sector_weights(a2, 44)
    _, _, _, _, info = env.step(a2)
    sector_ret = np.prod(1 + arrays.sector_returns[45:50], axis=0) - 1
    bench = np.prod(1 + arrays.benchmark_returns[45:50]) - 1
    expected = w2 @ sector_ret - bench - 0.1 * (w2**2).sum() - 0.001 * np.abs(w2 - w1).sum()
    assert info["r_macro"] == pytest.approx(expected, abs=1e-12)


def test_episode_starts_at_week_ends_and_truncates(arrays):
    env = MacroEnv(
        arrays,
        CONFIG.model_copy(update={"env": CONFIG.env.model_copy(update={"macro_episode_weeks": 3})}),
        date_range=(20, 80),
    )
    for seed in range(4):
        _, info = env.reset(seed=seed)
        assert info["t"] in set(arrays.week_end_index.tolist())
        assert 20 <= info["t"] <= 75
        steps, done = 0, False
        while not done:
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            steps, done = steps + 1, term or trunc
        assert steps <= 3


def test_default_reward_is_the_allocations_excess_net_of_its_costs(arrays):
    env = MacroEnv(arrays, Config.model_validate({"risk": {"sector_cap": 1.0}}))  # 3 sectors: no cap binding
    env.reset(options={"start": 39})
    a1 = np.array([1.0, 0.0, -1.0, 0, 0, 1], dtype=np.float32)
    a2 = np.array([-1.0, 0.5, 1.0, 0, 0, 1], dtype=np.float32)
    w1 = env.sector_weights(a1, 39)
    _, r1, _, _, info1 = env.step(a1)
    w2 = env.sector_weights(a2, 44, w1)
    _, r2, _, _, info2 = env.step(a2)
    rate = 0.5 * (env.sim.cost_model.buy_rate + env.sim.cost_model.sell_rate)
    steps = ((w1, np.full(3, 1 / 3), slice(40, 45), r1, info1), (w2, w1, slice(45, 50), r2, info2))
    for w, before, days, r, info in steps:
        sector_ret = np.prod(1 + arrays.sector_returns[days], axis=0) - 1
        excess = (w - 1 / 3) @ sector_ret - rate * np.abs(w - before).sum()
        assert info["r_excess"] == pytest.approx(excess, abs=1e-12)
        assert r == pytest.approx(excess + CONFIG.rewards.regime_weight * info["r_regime"], abs=1e-12)
    # the tilt rule's target bets the configured active share; each decision moves half the way to it, the first
    # from equal weights
    rate1 = env.config.model_copy(update={"env": env.config.env.model_copy(update={"macro_trade_rate": 1.0})})
    target1 = allocate(rate1, a1[:3], np.ones(3, bool), None)
    assert 0.5 * np.abs(target1 - 1 / 3).sum() == pytest.approx(0.25, abs=1e-12)
    np.testing.assert_allclose(w1, 1 / 3 + 0.5 * (target1 - 1 / 3), atol=1e-12)
    target2 = allocate(rate1, a2[:3], np.ones(3, bool), None)
    np.testing.assert_allclose(w2, w1 + 0.5 * (target2 - w1), atol=1e-12)


def test_a_good_allocation_earns_more_than_equal_weights_and_the_action_matters():
    """On planted data (sector drift = loading x macro[t-1, 1]) the allocation tilted along the drift earns more
    than equal weights (whose excess is 0 by construction) and the opposite tilt earns less."""
    from tests.training.conftest import make_arrays as planted

    arrays = planted(n_weeks=150, n_sectors=3)
    loadings = np.linspace(1.0, -1.0, 3)
    totals = {}
    for name, sign in (("good", 1.0), ("equal", 0.0), ("bad", -1.0)):
        env = MacroEnv(arrays, Config.model_validate({"env": {"macro_episode_weeks": 10**6}}))
        env.reset(options={"start": 4})
        rewards, done = [], False
        while not done:
            t = env.sim.t
            logits = sign * loadings * arrays.macro[t, 1]
            _, _, _, done, info = env.step(np.concatenate([np.clip(logits, -1, 1), [0, 0, 1]]).astype(np.float32))
            rewards.append(info["r_excess"])
        totals[name] = np.mean(rewards)
    assert totals["equal"] == pytest.approx(0.0, abs=1e-15)
    assert totals["good"] > 2e-4 > -2e-4 > totals["bad"]
