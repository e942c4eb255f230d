"""Trading costs per market, as rates on traded value (Indian equity delivery by default).

Every charge in :class:`~hrl_sarp.config.CostConfig` is in basis points of traded value, except ``gst_rate`` which is
a fraction of (brokerage + exchange charges). Slippage is charged as a cost on traded value (equivalent to filling
``slippage_bps`` worse than the reference price), so fills themselves happen at the reference price.

Buy rate  = STT_buy + exchange + SEBI + stamp duty + brokerage + GST x (brokerage + exchange) + slippage
Sell rate = STT_sell + exchange + SEBI + brokerage + GST x (brokerage + exchange) + slippage
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrl_sarp.config import CostConfig

BPS = 1e-4


@dataclass(frozen=True)
class CostModel:
    """Cost rates (fractions of traded value) for buys and sells."""

    buy_rate: float
    sell_rate: float
    config: CostConfig

    @classmethod
    def from_config(cls, config: CostConfig) -> CostModel:
        common = config.exchange_bps + config.sebi_bps + config.brokerage_bps
        gst = config.gst_rate * (config.brokerage_bps + config.exchange_bps)
        buy = config.stt_buy_bps + config.stamp_duty_buy_bps + common + gst + config.slippage_bps
        sell = config.stt_sell_bps + common + gst + config.slippage_bps
        return cls(buy_rate=buy * BPS, sell_rate=sell * BPS, config=config)

    @property
    def mean_rate(self) -> float:
        """The mean of the buy and sell rates: the cost per unit of two-sided turnover whose direction is not
        tracked (the attributed rewards' cost term)."""
        return 0.5 * (self.buy_rate + self.sell_rate)

    def cost(self, buy_value: float, sell_value: float) -> float:
        """Total cost in currency for ``buy_value`` bought and ``sell_value`` sold (both >= 0, currency)."""
        return self.buy_rate * buy_value + self.sell_rate * sell_value

    def trade_cost(self, trade_value: np.ndarray) -> float:
        """Cost of a vector of signed trades (N,) in currency (or in NAV fractions): + buy, - sell."""
        gross = float(np.abs(trade_value).sum())
        net = float(trade_value.sum())
        return self.buy_rate * 0.5 * (gross + net) + self.sell_rate * 0.5 * (gross - net)

    def breakdown(self, buy_value: float, sell_value: float) -> dict[str, float]:
        """Each charge in currency, for reports and the worked example in docs/environments.md."""
        c = self.config
        traded = buy_value + sell_value
        brokerage = c.brokerage_bps * BPS * traded
        exchange = c.exchange_bps * BPS * traded
        parts = {
            "stt": (c.stt_buy_bps * buy_value + c.stt_sell_bps * sell_value) * BPS,
            "exchange": exchange,
            "sebi": c.sebi_bps * BPS * traded,
            "gst": c.gst_rate * (brokerage + exchange),
            "stamp_duty": c.stamp_duty_buy_bps * BPS * buy_value,
            "brokerage": brokerage,
            "slippage": c.slippage_bps * BPS * traded,
        }
        parts["total"] = sum(parts.values())
        return parts
