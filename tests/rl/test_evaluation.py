import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger

from hrl_sarp.envs.goals import WithinSectorRule, within_sector_weights
from hrl_sarp.envs.macro_env import MacroEnv
from hrl_sarp.envs.simulator import PortfolioSimulator
from hrl_sarp.envs.weights import masked_softmax, project_capped_simplex
from hrl_sarp.rl.callbacks import ValidationSharpeCallback
from hrl_sarp.rl.evaluation import equal_weight_returns
from tests.rl.conftest import make_hierarchy


def hand_returns(arrays, cfg, market, first, last, sector_logits):
    """The validation rollout by hand: fixed sector logits -> weights, equal weight inside sectors, weekly."""
    sector_logits = sector_logits.astype(np.float32).astype(np.float64)  # actions travel as float32
    sim = PortfolioSimulator(market, cfg.costs, cfg.risk, cfg.env.initial_nav)
    sim.reset(first)
    has = np.bincount(arrays.stock_sector, weights=market.tradable[first], minlength=arrays.n_sectors) > 0
    sector_w = project_capped_simplex(
        masked_softmax(cfg.env.logit_scale * sector_logits, has), 1.0, cfg.risk.sector_cap
    )
    returns = []
    step = cfg.env.macro_step_days
    while sim.t + step <= last:
        for day in range(step):
            target = (
                within_sector_weights(sector_w, arrays.stock_sector, market.tradable[sim.t], arrays.n_sectors)
                if day == 0
                else None
            )
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

    env = MacroEnv(arrays, cfg, h.inputs.embeddings, rule, h.inputs.train_range, h.market)
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
    env = MacroEnv(arrays, cfg, h.inputs.embeddings, rule, h.inputs.train_range, h.market)
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


def test_equal_weight_returns_rebalance_weekly(arrays, cfg):
    h = make_hierarchy(cfg)
    first, _ = h.inputs.val_range
    r = equal_weight_returns(arrays, cfg, first, 20, h.market)
    sim = PortfolioSimulator(h.market, cfg.costs, cfg.risk, cfg.env.initial_nav)
    sim.reset(first)
    manual = []
    for k in range(20):
        target = np.full(arrays.n_stocks, 1.0 / arrays.n_stocks) if k % 5 == 0 else None
        manual.append(sim.step(target).ret)
    np.testing.assert_allclose(r, manual, rtol=1e-12)
