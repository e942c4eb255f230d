import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger

from hrl_sarp.envs.goals import WithinSectorRule, within_sector_weights
from hrl_sarp.envs.macro_env import MacroEnv, allocate
from hrl_sarp.envs.simulator import PortfolioSimulator
from hrl_sarp.rl.callbacks import ValidationSharpeCallback
from hrl_sarp.rl.evaluation import equal_weight_returns
from tests.rl.conftest import make_hierarchy


def hand_returns(arrays, cfg, market, first, last, sector_logits):
    """The validation rollout by hand: fixed sector logits -> the macro rule's allocation chain over every week end
    of the data, equal weight inside sectors, decided at ``first`` and at the week ends, executed from cash."""
    sector_logits = sector_logits.astype(np.float32).astype(np.float64)  # actions travel as float32
    sim = PortfolioSimulator(market, cfg.costs, cfg.risk, cfg.env.initial_nav)
    weeks = set(arrays.week_end_index.tolist())
    goal, previous, goals = np.full(arrays.n_sectors, 1 / arrays.n_sectors), None, {}
    for t in range(last + 1):
        if t in weeks:
            has = np.bincount(arrays.stock_sector, weights=market.tradable[t], minlength=arrays.n_sectors) > 0
            goal = previous = allocate(cfg, sector_logits, has, previous)
        goals[t] = goal
    sim.reset(first)
    returns = []
    for t in range(first, last):
        target = None
        if t == first or t in weeks:
            proposal = within_sector_weights(goals[t], arrays.stock_sector, market.tradable[t], arrays.n_sectors)
            target = sim.risk_adjust(proposal, t)[0]
        returns.append(sim.step(target).ret)
    return np.asarray(returns)


def test_eval_callback_sharpe_equals_hand_computation(arrays, cfg):
    h = make_hierarchy(cfg)
    first, last = h.inputs.val_range
    logits = np.array([0.4, -0.2, 0.1, 0.0])
    actor = lambda obs: np.concatenate([logits, [0.0, 0.0, 1.0]])  # noqa: E731
    rule = WithinSectorRule(h.market)
    expected_returns = hand_returns(arrays, cfg, h.market, first, last, logits)
    expected = expected_returns.mean() / expected_returns.std(ddof=1) * np.sqrt(252)

    rollout = h.evaluator.rollout(actor, rule)
    np.testing.assert_allclose(rollout.returns, expected_returns, rtol=1e-12, atol=1e-15)

    env = MacroEnv(arrays, cfg, h.inputs.macro_inputs, rule, h.inputs.train_range, h.market)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu")
    model.set_logger(Logger(None, []))
    callback = ValidationSharpeCallback(lambda m: h.evaluator.sharpe(actor, rule), eval_every=8)
    callback.init_callback(model)
    value = callback.run_eval()
    assert value == callback.history[0]["val_sharpe"] == callback.best_sharpe
    np.testing.assert_allclose(value, expected, rtol=1e-10)
    assert callback.best_state is not None


def test_callback_keeps_the_best_policy(arrays, cfg):
    h = make_hierarchy(cfg)
    rule = WithinSectorRule(h.market)
    env = MacroEnv(arrays, cfg, h.inputs.macro_inputs, rule, h.inputs.train_range, h.market)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu")
    model.set_logger(Logger(None, []))
    values = iter([0.5, 1.5, 0.7])
    callback = ValidationSharpeCallback(lambda m: next(values), eval_every=8)
    callback.init_callback(model)
    callback.run_eval()
    best = {k: v.clone() for k, v in model.policy.state_dict().items()}
    callback.run_eval()
    best = {k: v.clone() for k, v in model.policy.state_dict().items()}
    for p in model.policy.parameters():
        p.data.add_(1.0)
    callback.run_eval()
    assert callback.best_sharpe == 1.5
    assert callback.restore_best()
    for k, v in model.policy.state_dict().items():
        assert (v == best[k]).all()


def test_equal_weight_returns_rebalance_on_the_systems_decision_rows(arrays, cfg):
    h = make_hierarchy(cfg)
    first = int(arrays.week_end_index[12]) + 2  # inside a week: decisions at first, then at week ends
    r = equal_weight_returns(arrays, cfg, first, first + 20, h.market)
    sim = PortfolioSimulator(h.market, cfg.costs, cfg.risk, cfg.env.initial_nav)
    sim.reset(first)
    weeks = set(arrays.week_end_index.tolist())
    manual = []
    for t in range(first, first + 20):
        target = np.full(arrays.n_stocks, 1.0 / arrays.n_stocks) if t == first or t in weeks else None
        manual.append(sim.step(target).ret)
    np.testing.assert_allclose(r, manual, rtol=1e-10, atol=1e-15)
