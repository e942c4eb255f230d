"""The evaluation around the engine: the held-out plan after a system's validation rows, the summary without a
trained system, and stable MLflow metric names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrl_sarp.backtest.evaluate import HRL_SARP, NOT_TRAINED, evaluate, plan_for
from hrl_sarp.backtest.splits import SplitError
from hrl_sarp.backtest.stage import ALL_STRATEGIES, check_summary, stable_metrics
from hrl_sarp.config import Config
from hrl_sarp.domain import METRIC_NAMES


def small_config(**backtest) -> Config:
    raw = Config().model_dump()
    settings = dict(train_days=150, test_days=60, seeds=[0, 1], bootstrap_samples=20, flat_rl_timesteps=32)
    settings.update(backtest)
    raw["backtest"].update(settings)
    raw["backtest"]["flat_rl_episode_weeks"] = 4
    return Config.model_validate(raw)


def test_plan_starts_after_the_held_out_row(arrays):
    cfg = small_config()
    free = plan_for(arrays, cfg)
    assert free.test_start == 150 + 5
    held = plan_for(arrays, cfg, held_out_start=300)
    assert held.test_start >= 300 and held.test_end == arrays.n_dates
    assert held.folds[0].train_end <= held.test_start - cfg.backtest.embargo_days
    assert "after HRL-SARP's training and validation rows" in held.description
    assert plan_for(arrays, cfg, held_out_start=100).test_start == free.test_start  # never earlier than the config
    with pytest.raises(SplitError, match="after the trained system's validation rows"):
        plan_for(arrays, cfg, held_out_start=arrays.n_dates - 5)


def test_without_a_system_every_baseline_and_the_status(arrays):
    cfg = small_config()
    evaluation = evaluate(arrays, cfg)
    summary = evaluation.summary()
    assert summary["strategies"][HRL_SARP] == NOT_TRAINED
    check_summary(summary)
    assert summary["strategies"]["flat_rl"]["n_seeds"] == 2 and summary["strategies"]["random"]["n_seeds"] == 2
    assert summary["split"] == evaluation.plan.description
    metrics = stable_metrics(evaluation)
    for name in ALL_STRATEGIES:
        assert all(f"{name}.{m}" in metrics and f"{name}.{m}_std" in metrics for m in METRIC_NAMES)
    assert math.isnan(metrics["hrl_sarp.sharpe"]) and np.isfinite(metrics["equal_weight.sharpe"])

    no_flat = evaluate(arrays, small_config(flat_rl_timesteps=0)).summary()
    assert no_flat["strategies"]["flat_rl"].startswith("left out")
    check_summary(no_flat)
