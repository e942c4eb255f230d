import numpy as np
import pytest

from hrl_sarp.envs.risk import (
    cvar_exposure_scale,
    cvar_tail_count,
    historical_cvar,
    liquidity_mask,
    update_drawdown_gate,
)


def test_liquidity_mask_threshold_and_nan():
    tradable = np.array([True, True, True, False])
    adv = np.array([5e6, 1e6, np.nan, 9e9])
    # 1e6 < 2e6 is filtered out; NaN (no volume) passes: no evidence of illiquidity
    assert liquidity_mask(tradable, adv, 2e6).tolist() == [True, False, True, False]
    assert liquidity_mask(tradable, adv, 0.0).tolist() == [True, True, True, False]


def test_historical_cvar_by_hand():
    r = np.array([0.01, -0.03, 0.02, -0.01, 0.0] * 4 + [-0.05, -0.04])  # 22 obs -> ceil(1.1) = 2 worst
    assert cvar_tail_count(22) == 2
    assert cvar_tail_count(20) == 1
    assert historical_cvar(r) == pytest.approx(0.045, abs=1e-15)
    batch = historical_cvar(np.stack([r, 2 * r]))
    np.testing.assert_allclose(batch, [0.045, 0.09], atol=1e-15)


def test_cvar_budget_scales_exposure_exactly():
    window = np.array([[-0.10, 0.00], [0.02, 0.01], [0.01, -0.02]] * 7)  # 21 rows -> 2 worst
    w = np.array([0.5, 0.48])
    scale, loss = cvar_exposure_scale(w, window, budget=0.02)
    assert loss == pytest.approx(0.05, abs=1e-15)  # two rows of -0.05
    assert scale == pytest.approx(0.4, abs=1e-15)
    assert historical_cvar(window @ (w * scale)) == pytest.approx(0.02, abs=1e-15)
    assert cvar_exposure_scale(w, window, budget=0.06)[0] == 1.0


def test_drawdown_gate_hysteresis():
    assert update_drawdown_gate(False, 0.071, 0.07, 0.03) is True
    assert update_drawdown_gate(False, 0.07, 0.07, 0.03) is False
    assert update_drawdown_gate(True, 0.05, 0.07, 0.03) is True
    assert update_drawdown_gate(True, 0.03, 0.07, 0.03) is False
