import numpy as np
import pytest

from hrl_sarp.config import CostConfig
from hrl_sarp.envs.costs import CostModel


def test_indian_delivery_trade_by_hand():
    model = CostModel.from_config(CostConfig())
    # buy 1,000,000 INR: STT 1000 + exchange 32.5 + SEBI 1 + GST 0.18*32.5=5.85 + stamp 150 + slippage 500
    buy = 1000.0 + 32.5 + 1.0 + 5.85 + 150.0 + 500.0
    # sell 400,000 INR: STT 400 + exchange 13 + SEBI 0.4 + GST 0.18*13=2.34 + slippage 200
    sell = 400.0 + 13.0 + 0.4 + 2.34 + 200.0
    assert buy == pytest.approx(1689.35, abs=1e-10)
    assert sell == pytest.approx(615.74, abs=1e-10)
    assert model.cost(1_000_000.0, 400_000.0) == pytest.approx(2305.09, abs=1e-10)
    parts = model.breakdown(1_000_000.0, 400_000.0)
    assert parts["stt"] == pytest.approx(1400.0, abs=1e-10)
    assert parts["gst"] == pytest.approx(8.19, abs=1e-10)
    assert parts["stamp_duty"] == pytest.approx(150.0, abs=1e-10)
    assert parts["total"] == pytest.approx(2305.09, abs=1e-10)
    trades = np.array([600_000.0, 400_000.0, -400_000.0])
    assert model.trade_cost(trades) == pytest.approx(2305.09, abs=1e-10)
    # per unit of two-sided turnover: (16.8935 + 15.3935) bps / 2 (the attributed rewards' cost rate)
    assert model.mean_rate == pytest.approx(0.5 * (1689.35 / 1e6 + 615.74 / 4e5), abs=1e-15)


def test_other_market_rates_from_config():
    model = CostModel.from_config(
        CostConfig(
            stt_buy_bps=0,
            stt_sell_bps=0,
            exchange_bps=0,
            sebi_bps=0,
            stamp_duty_buy_bps=0,
            brokerage_bps=1,
            gst_rate=0.1,
            slippage_bps=2,
        )
    )
    assert model.buy_rate == pytest.approx(3.1e-4, abs=1e-15)
    assert model.sell_rate == pytest.approx(3.1e-4, abs=1e-15)
