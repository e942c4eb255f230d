import numpy as np
import pytest

from hrl_sarp.backtest.bootstrap import (
    information_ratio_interval,
    sharpe_difference_interval,
    stationary_bootstrap_indices,
)


def test_indices_follow_blocks_and_are_seeded():
    idx = stationary_bootstrap_indices(100, 200, 10.0, np.random.default_rng(3))
    assert idx.shape == (200, 100) and idx.min() >= 0 and idx.max() < 100
    again = stationary_bootstrap_indices(100, 200, 10.0, np.random.default_rng(3))
    np.testing.assert_array_equal(idx, again)
    continues = (idx[:, 1:] == (idx[:, :-1] + 1) % 100).mean()
    assert continues == pytest.approx(0.9, abs=0.02)  # a new block with probability 1 / 10 (plus chance hits)


def test_identical_series_give_an_interval_at_zero():
    r = np.random.default_rng(0).normal(0.0005, 0.01, 500)
    out = sharpe_difference_interval(r, r.copy(), n_samples=300, block_length=10, seed=1)
    assert out.estimate == 0.0 and out.low == 0.0 and out.high == 0.0


def test_noisy_copies_straddle_zero_and_higher_mean_is_above_zero():
    rng = np.random.default_rng(1)
    base = rng.normal(0.0003, 0.01, 750)
    other = base + rng.normal(0.0, 0.002, 750)
    near = sharpe_difference_interval(other, base, n_samples=500, block_length=10, seed=2)
    assert near.low < 0.0 < near.high
    better = base + 0.002  # 50% a year more at the same volatility
    high = sharpe_difference_interval(better, base, n_samples=500, block_length=10, seed=2)
    assert high.low > 0.0 and high.estimate > high.low
    assert high == sharpe_difference_interval(better, base, n_samples=500, block_length=10, seed=2)


def test_unpaired_lengths_raise():
    with pytest.raises(ValueError):
        sharpe_difference_interval(np.zeros(10), np.zeros(9))


def test_information_ratio_interval_brackets_the_ir_of_the_differences():
    rng = np.random.default_rng(3)
    b = rng.normal(0.0004, 0.01, 750)
    a = b + rng.normal(0.0003, 0.002, 750)  # a steady edge over b
    ir, low, high = information_ratio_interval(a, b, n_samples=400, seed=1)
    diff = a - b
    assert ir == pytest.approx(diff.mean() / diff.std(ddof=1) * np.sqrt(252), rel=1e-12)
    assert low < ir < high and low > 0
    assert information_ratio_interval(a, b, n_samples=400, seed=1) == (ir, low, high)
