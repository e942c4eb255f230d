"""TrainedSystem: a folder round trip, decisions from data up to t only, caps, and a one-line misfit error."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hrl_sarp.system import TrainedSystem, TrainedSystemError, system_from_hierarchy
from tests.envs.conftest import sector_embeddings_from as embeddings_of
from tests.rl.conftest import make_hierarchy, small_config


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from hrl_sarp.rl.runner import attach_macro, attach_micro

    cfg = small_config()
    h = make_hierarchy(cfg, seed=3)
    attach_macro(h)
    attach_micro(h)
    folder = system_from_hierarchy(h, tmp_path_factory.mktemp("system") / "sys")
    return h, TrainedSystem(folder)


def test_folder_round_trip_and_caps(built):
    h, system = built
    arrays, emb = h.inputs.arrays, h.inputs.embeddings
    assert system.kind == "rl" and system.val_sharpe == pytest.approx(h.val_sharpe())
    risk = system.cfg.risk
    for t in (int(arrays.week_end_index[10]), int(arrays.week_end_index[10]) + 2, arrays.n_dates - 1):
        w = system.target_weights(arrays, emb, t)
        assert (w >= 0).all() and w.max() <= risk.stock_cap + 1e-9 and w.sum() <= 1 - risk.min_cash + 1e-9
        sectors = np.bincount(arrays.stock_sector, weights=w, minlength=arrays.n_sectors)
        assert sectors.max() <= risk.sector_cap + 1e-9
        assert (w[~arrays.tradable[t]] == 0).all()
    goals = system.sector_weights(arrays, emb, arrays.n_dates - 1)
    assert goals.sum() == pytest.approx(1.0) and system.regime(arrays, emb, 5) in ("Bull", "Bear", "Sideways")


def test_decision_at_t_ignores_later_data(built):
    h, system = built
    arrays, emb = h.inputs.arrays, h.inputs.embeddings
    t = int(arrays.week_end_index[20]) + 1  # a row inside a week
    before = system.target_weights(arrays, emb, t)
    later = dataclasses.replace(
        arrays,
        stock_features=arrays.stock_features.copy(),
        macro=arrays.macro.copy(),
        close=arrays.close.copy(),
        stock_returns=arrays.stock_returns.copy(),
    )
    later.stock_features[t + 1 :] += 2.0
    later.macro[t + 1 :] -= 1.0
    later.close[t + 1 :] *= 1.3
    later.stock_returns[t + 1 :] += 0.01
    emb_later = emb.copy()
    emb_later[np.asarray(arrays.week_end_index) > t] += 5.0
    np.testing.assert_array_equal(system.target_weights(later, emb_later, t), before)
    assert not np.allclose(system.target_weights(later, emb_later, arrays.n_dates - 1), before)


def test_misfit_build_is_a_one_line_error(built):
    h, system = built
    arrays = dataclasses.replace(h.inputs.arrays, symbols=np.array([f"X{i}" for i in range(h.inputs.arrays.n_stocks)]))
    with pytest.raises(TrainedSystemError, match="symbols differ") as info:
        system.target_weights(arrays, h.inputs.embeddings, 10)
    assert "\n" not in str(info.value) and "retrain" in str(info.value)
    # the same width of sector block from other sector features: named, not silently read as something else
    t = h.inputs.arrays.n_dates
    other = dataclasses.replace(
        h.inputs.arrays, sector_features=np.zeros((t, h.inputs.arrays.n_sectors, 1)), sector_feature_names=("news",)
    )
    with pytest.raises(TrainedSystemError, match=r"sector features differ \(\['news'\] != \[\]\)"):
        system.target_weights(other, h.inputs.embeddings, 10)


def test_validation_scores_the_backtests_decision_path(built):
    """The evaluator (validation, checkpoint selection, champion score) and the backtest engine run the same
    weekly decisions on the same calendar through the same simulator: equal daily returns over a span."""
    from types import SimpleNamespace

    from hrl_sarp.backtest.engine import rebalance_rows, run_strategy
    from hrl_sarp.envs.simulator import MarketArrays
    from hrl_sarp.rl.evaluation import SystemEvaluator
    from hrl_sarp.rl.layers import PolicyMicroLayer

    h, system = built
    arrays, emb = h.inputs.arrays, h.inputs.embeddings
    cfg = system.cfg
    first = int(arrays.week_end_index[30]) + 2  # a span starting inside a week
    last = first + 60
    market = MarketArrays.from_features(arrays, cfg.risk)
    evaluator = SystemEvaluator(arrays, cfg, emb, (first, last), market)
    validated = evaluator.rollout(system.macro_actor, PolicyMicroLayer(system.micro_actor, arrays, market, cfg))
    plan = SimpleNamespace(test_start=first + 1, test_end=last + 1, folds=[SimpleNamespace(test_start=first + 1)])
    decide_at = rebalance_rows(arrays, plan, "weekly")
    backtest = run_strategy(
        arrays, system.strategy(arrays, emb), first + 1, last + 1, cfg.costs, cfg.risk, decide_at, 0, market
    )
    assert len(validated.returns) == last - first == len(backtest.returns)
    np.testing.assert_allclose(validated.returns, backtest.returns, rtol=0, atol=1e-10)
    assert np.abs(backtest.returns).max() > 1e-4  # it traded


def test_a_macro_agent_without_embeddings_ignores_them_everywhere(tmp_path):
    """env.macro_embeddings off: the macro agent observes no embeddings in training, validation and deployment,
    so its decisions do not move when the embeddings do (their value is then measured by comparison)."""
    from hrl_sarp.registry import validation_sharpe
    from hrl_sarp.rl.runner import attach_macro, attach_micro

    cfg = small_config()
    cfg = cfg.model_copy(update={"env": cfg.env.model_copy(update={"macro_embeddings": False})})
    h = make_hierarchy(cfg, seed=5)
    n_sector_features = len(h.inputs.arrays.sector_feature_names)  # what it still sees per sector (none here)
    assert h.inputs.macro_inputs.shape[2] == n_sector_features
    attach_macro(h)
    attach_micro(h)
    system = TrainedSystem(system_from_hierarchy(h, tmp_path / "sys"))
    assert system.meta["embedding_dim"] == n_sector_features
    arrays = h.inputs.arrays
    full = embeddings_of(arrays)
    t = int(arrays.week_end_index[-3])
    before = system.target_weights(arrays, full, t)
    np.testing.assert_array_equal(TrainedSystem(system.folder).target_weights(arrays, full * 3.0 + 1.0, t), before)
    assert validation_sharpe(system, arrays, full, h.inputs.val_range) == pytest.approx(system.val_sharpe)
