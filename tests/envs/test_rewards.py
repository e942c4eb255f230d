import numpy as np
import pytest

from hrl_sarp.envs import rewards as R  # noqa: N812


def test_macro_reward_by_hand():
    w = np.array([0.5, 0.3, 0.2])
    sector_ret = np.array([0.02, -0.01, 0.03])
    # alpha = 0.01 - 0.003 + 0.006 - 0.004 = 0.009; HHI = 0.25 + 0.09 + 0.04 = 0.38
    got = R.macro_reward(w, sector_ret, 0.004, turnover=0.6, hhi_penalty=0.1, turnover_penalty=0.001)
    assert got == pytest.approx(0.009 - 0.038 - 0.0006, abs=1e-15)
    batch = R.macro_reward(np.stack([w, w]), np.stack([sector_ret, sector_ret]), np.array([0.004, 0.0]), 0.0, 0.1, 0)
    np.testing.assert_allclose(batch, [0.009 - 0.038, 0.013 - 0.038], atol=1e-15)


def test_micro_reward_by_hand():
    r = np.array([0.01, -0.02, 0.03, 0.0, 0.01])
    mean, std = 0.006, np.sqrt(np.mean((r - 0.006) ** 2))
    sharpe = R.sharpe_ratio(r, 1e-4)
    assert sharpe == pytest.approx(mean / std, abs=1e-12)
    cos = R.cosine_similarity(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    assert cos == pytest.approx(1 / np.sqrt(2), abs=1e-15)
    assert R.cosine_similarity(np.zeros(2), np.ones(2)) == 0.0
    got = R.micro_reward(
        sharpe, cos, drawdown=0.08, sharpe_weight=0.5, goal_weight=0.3, drawdown_weight=0.2, drawdown_free=0.05
    )
    assert got == pytest.approx(0.5 * mean / std + 0.3 / np.sqrt(2) - 0.2 * 0.03**2, abs=1e-12)
    assert R.drawdown_penalty(0.04, 0.05) == 0.0
    assert R.sharpe_ratio(np.zeros(5), 1e-4) == 0.0


def test_value_reward_by_hand():
    np.testing.assert_allclose(
        R.value_reward(np.array([0.02, 0.02, -0.02, 0.02]), np.array([-0.6, -0.4, -0.6, -0.5]), -0.5),
        [0.02, 0.0, 0.0, 0.0],
    )


def test_portfolio_reward_by_hand():
    r = np.array([0.02, -0.01, -0.02, 0.03])
    nav = np.cumprod(1 + r)  # 1.02, 1.0098, 0.989604, 1.01929212
    dd = 1 - 0.989604 / 1.02
    assert R.max_drawdown(r) == pytest.approx(dd, abs=1e-15)
    calmar = (nav[-1] - 1) / dd
    assert R.calmar_ratio(r, 0.01) == pytest.approx(calmar, abs=1e-12)
    got, c, cvar = R.portfolio_reward_from_returns(r, cost=0.001, drawdown_floor=0.01)
    assert cvar == pytest.approx(0.02, abs=1e-15)  # ceil(0.2) = 1 worst of 4
    assert got == pytest.approx(calmar * 0.98 - 0.001, abs=1e-12)
    assert R.portfolio_reward(2.0, 0.05, 0.01) == pytest.approx(1.89, abs=1e-15)
    # floor: a path without drawdown divides by the floor
    assert R.calmar_ratio(np.array([0.01, 0.01]), 0.01) == pytest.approx(0.0201 / 0.01, abs=1e-12)


def test_regime_reward_and_mix():
    np.testing.assert_allclose(R.regime_reward(np.array([0, 1, 2]), np.array([0, 2, 2]), 0.3, -0.1), [0.3, -0.1, 0.3])
    total = R.mix_rewards(
        {"macro": 1.0, "portfolio": 2.0, "regime": 0.3, "value": -1.0},
        {"macro": 0.4, "portfolio": 0.3, "regime": 0.2, "value": 0.1},
    )
    assert total == pytest.approx(0.4 + 0.6 + 0.06 - 0.1, abs=1e-15)
    with pytest.raises(KeyError):
        R.mix_rewards({"macro": 1.0}, {"macro": 0.4, "value": 0.1})


def test_within_sector_active_is_the_picks_return_over_the_sectors_equal_weight():
    sector_of = np.array([0, 0, 0, 1, 1, 2])
    tradable = np.array([True, True, False, True, True, True])
    returns = np.array([0.02, -0.01, 0.50, 0.03, 0.01, -0.02])  # the untradable name's return never counts
    proposal = np.array([0.3, 0.1, 0.0, 0.0, 0.2, 0.4])
    active = R.within_sector_active(proposal, tradable, sector_of, returns, 4)
    np.testing.assert_allclose(
        active,
        [0.75 * 0.02 + 0.25 * -0.01 - 0.005, 0.01 - 0.02, 0.0, 0.0],  # sector 2: one name = its equal weight
        atol=1e-15,
    )
    np.testing.assert_allclose(R.within_sector_active(tradable / 5.0, tradable, sector_of, returns, 4), 0.0,
                               atol=1e-15)  # fmt: skip
