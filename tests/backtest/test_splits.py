import numpy as np
import pytest

from hrl_sarp.backtest.splits import SplitError, walk_forward_splits
from hrl_sarp.config import BacktestConfig, load_config
from hrl_sarp.errors import HrlSarpError


def _calendar(start, end):
    return np.arange(np.datetime64(start), np.datetime64(end), dtype="datetime64[D]")[
        np.is_busday(np.arange(np.datetime64(start), np.datetime64(end), dtype="datetime64[D]"))
    ]


def test_demo_config_on_a_1990_2022_calendar():
    cfg = load_config("demo").backtest
    dates = _calendar("1990-01-01", "2023-01-01")
    plan = walk_forward_splits(dates, cfg)
    assert not plan.adapted
    folds = plan.folds
    span = len(dates) - cfg.train_days - cfg.embargo_days
    full, tail = divmod(span, cfg.test_days)
    assert len(folds) == full + (tail >= cfg.min_test_days)  # 8610 sessions: 31 full folds + a 37-session tail
    assert len(folds) == 32
    assert folds[0].test_start == cfg.train_days + cfg.embargo_days
    assert folds[-1].test_end == len(dates)
    for a, b in zip(folds, folds[1:], strict=False):
        assert a.test_end == b.test_start  # test windows tile
    for f in folds:
        assert f.test_start - f.train_end == cfg.embargo_days
        assert f.train_start == 0  # expanding
    assert "expanding walk-forward" in plan.description and "1990-01-01" in plan.description
    assert "2022-12-30" in plan.description


def test_rolling_windows_have_fixed_length():
    cfg = BacktestConfig(mode="rolling", train_days=500, test_days=100, embargo_days=10)
    plan = walk_forward_splits(_calendar("2010-01-01", "2016-01-01"), cfg)
    assert all(f.train_end - f.train_start == 500 for f in plan.folds)
    assert plan.fold_of(plan.folds[1].test_start) == 1
    assert plan.fold_of(plan.folds[1].test_start - 1) == 1  # the decision row before the window


def test_short_tail_joins_the_previous_fold_and_max_folds_keeps_the_latest():
    cfg = BacktestConfig(train_days=100, test_days=50, embargo_days=5, min_test_days=21)
    dates = _calendar("2020-01-01", "2021-01-01")[:260]  # 260 - 105 = 155 = 3 x 50 + 5
    plan = walk_forward_splits(dates, cfg)
    assert [f.test_end - f.test_start for f in plan.folds] == [50, 50, 55]
    latest = walk_forward_splits(dates, cfg.model_copy(update={"max_folds": 2}))
    assert [f.index for f in latest.folds] == [0, 1]
    assert latest.folds[-1].test_end == 260 and latest.folds[0].test_start == plan.folds[1].test_start


def test_short_data_shrink_windows_and_too_short_data_raise():
    cfg = BacktestConfig()  # 756 + 5 + 252 sessions wanted
    dates = _calendar("2020-01-01", "2022-01-01")  # ~520 sessions
    plan = walk_forward_splits(dates, cfg)
    assert plan.adapted and len(plan.folds) == 1
    assert plan.train_days + cfg.embargo_days + plan.test_days == len(dates)
    assert plan.train_days / plan.test_days == pytest.approx(3.0, rel=0.02)
    assert "shrunk" in plan.description
    with pytest.raises(SplitError, match="at least 152 sessions") as err:
        walk_forward_splits(dates[:100], cfg)
    assert isinstance(err.value, HrlSarpError) and "\n" not in str(err.value)
