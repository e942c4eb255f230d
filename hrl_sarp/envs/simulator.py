"""The portfolio simulator shared by both environments and the backtest.

Timing (see docs/environments.md): a decision at row t uses data up to the close of ``dates[t]``. Trades fill at
the open of t+1; names held from t first earn the overnight move close(t) -> open(t+1), the new weights then earn
open(t+1) -> close(t+1), and from then on close-to-close. Costs (:mod:`hrl_sarp.envs.costs`) are charged on the
value traded at the open and paid from cash.

Risk rules at each decision (:mod:`hrl_sarp.envs.risk`), in order: liquidity mask (untradable names go to 0) ->
capped-simplex projection (stock cap, sector cap, invested total ``min(sum(target), 1 - min_cash)``) -> CVaR95
budget over the trailing ``cvar_window_days`` of returns known at t -> drawdown gate (exposure cut to
``gated_exposure`` while closed).

The drawdown gate watches a "gate NAV": the actual NAV while the gate is open and, while it is closed, the NAV the
proposed (ungated) portfolio would have earned gross of costs, so that recovery can be observed from cash. The gate
closes when the gate NAV's drawdown exceeds ``drawdown_gate`` and reopens when it is back within
``drawdown_reenter``. The drawdown is measured from the gate NAV's peak over the trailing
``drawdown_lookback_days`` sessions (0: since the start): with an all-time peak a strategy that never regains its
high would sit in cash for years after one crash, and every action of an agent would be ignored meanwhile.

``risk.drawdown_rule`` chooses what a drawdown does. ``gate`` (the seed's rule, the default) is the all-cash gate
above. ``scale`` keeps investing but scales the proposal's invested total by
:func:`~hrl_sarp.envs.risk.drawdown_exposure`: 1 up to a ``drawdown_reenter`` drawdown, linearly down to
``overlay_floor`` at ``drawdown_gate``. Its drawdown is always that of the proposed (unscaled) portfolio, so the
exposure comes back as the strategy recovers rather than after a re-entry threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hrl_sarp.config import CostConfig, RiskConfig
from hrl_sarp.envs.costs import CostModel
from hrl_sarp.envs.risk import cvar_exposure_scale, drawdown_exposure, liquidity_mask, update_drawdown_gate
from hrl_sarp.envs.weights import CappedSimplexProjector
from hrl_sarp.features.arrays import FeatureArrays


def _forward_fill(prices: np.ndarray) -> np.ndarray:
    """(T, N) prices with non-finite entries replaced by the last finite one above (NaN before the first)."""
    finite = np.isfinite(prices)
    rows = np.where(finite, np.arange(len(prices))[:, None], 0)
    np.maximum.accumulate(rows, axis=0, out=rows)
    filled = prices[rows, np.arange(prices.shape[1])[None, :]]
    seen = np.maximum.accumulate(finite, axis=0)
    return np.where(seen, filled, np.nan)


@dataclass(frozen=True)
class MarketArrays:
    """Contiguous price-relative arrays prepared once from a :class:`FeatureArrays` (T dates, N names, S sectors).

    gap[t] = open[t] / close[t-1]; intraday[t] = close[t] / open[t]; returns[t] = gap[t] * intraday[t] - 1 (the
    close-to-close return used by the CVaR window). Unknown prices give a relative of 1 (return 0); a missing
    open uses the close. ``tradable`` combines the feature build's tradable flag with the liquidity filter.
    """

    gap: np.ndarray  # (T, N)
    intraday: np.ndarray  # (T, N)
    returns: np.ndarray  # (T, N)
    tradable: np.ndarray  # (T, N) bool
    sector_of: np.ndarray  # (N,) int64
    n_sectors: int

    @property
    def n_dates(self) -> int:
        return self.gap.shape[0]

    @property
    def n_stocks(self) -> int:
        return self.gap.shape[1]

    @classmethod
    def from_features(cls, arrays: FeatureArrays, risk: RiskConfig) -> MarketArrays:
        close = _forward_fill(np.asarray(arrays.close, dtype=np.float64))
        raw_open = np.asarray(arrays.open, dtype=np.float64)
        opened = np.where(np.isfinite(raw_open) & (raw_open > 0), raw_open, close)
        prev_close = np.vstack([close[:1], close[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = opened / prev_close
            intraday = close / opened
        gap = np.where(np.isfinite(gap) & (gap > 0), gap, 1.0)
        gap[0] = 1.0
        intraday = np.where(np.isfinite(intraday) & (intraday > 0), intraday, 1.0)
        priced = np.isfinite(close) & (close > 0)
        tradable = liquidity_mask(
            np.asarray(arrays.tradable, dtype=bool) & priced, arrays.adv_value, risk.min_adv_value
        )
        return cls(
            gap=np.ascontiguousarray(gap),
            intraday=np.ascontiguousarray(intraday),
            returns=np.ascontiguousarray(gap * intraday - 1.0),
            tradable=np.ascontiguousarray(tradable),
            sector_of=np.asarray(arrays.stock_sector, dtype=np.int64),
            n_sectors=arrays.n_sectors,
        )


@dataclass(slots=True)
class StepResult:
    """Outcome of one decision at row ``t`` realised at the close of t+1.

    ``weights``: (N,) weights executed at the open of t+1 (fractions of the NAV at that open).
    ``cost``: costs as a fraction of the NAV at the close of t; ``turnover``: sum |traded weight| (two-sided).
    """

    t: int
    nav: float
    ret: float
    cost: float
    cost_value: float
    turnover: float
    drawdown: float
    weights: np.ndarray
    cash: float
    invested: float
    gated: bool
    cvar: float
    cvar_scale: float


class PortfolioSimulator:
    """Stateful daily simulator over prepared :class:`MarketArrays`; state lives in small NumPy arrays."""

    def __init__(
        self,
        market: MarketArrays | FeatureArrays,
        costs: CostConfig,
        risk: RiskConfig,
        initial_nav: float = 1.0,
    ):
        self.market = market if isinstance(market, MarketArrays) else MarketArrays.from_features(market, risk)
        self.cost_model = CostModel.from_config(costs)
        self.risk = risk
        self.initial_nav = float(initial_nav)
        self._buy = self.cost_model.buy_rate
        self._sell = self.cost_model.sell_rate
        self._max_invested = 1.0 - risk.min_cash
        n = self.market.n_stocks
        self._tradable = self.market.tradable.astype(np.float64)
        self._project = CappedSimplexProjector(
            self.market.sector_of, self.market.n_sectors, risk.stock_cap, risk.sector_cap
        )
        self._all_tradable = self.market.tradable.all(axis=1).tolist()  # per row: skip the mask when all tradable
        self.weights = np.zeros(n)
        self._proposed = np.zeros(n)
        self.reset(0)

    def reset(self, t0: int, initial_weights: np.ndarray | None = None, nav: float | None = None) -> None:
        """Start at row ``t0`` (a close) holding ``initial_weights`` (N,) (default all cash) worth ``nav``."""
        if not 0 <= t0 < self.market.n_dates - 1:
            raise ValueError(f"start row {t0} outside [0, {self.market.n_dates - 1})")
        self.t = int(t0)
        self.nav = self.initial_nav if nav is None else float(nav)
        self.peak = self.nav
        self.weights = np.zeros(self.market.n_stocks) if initial_weights is None else np.array(initial_weights, float)
        self.cash = 1.0 - float(self.weights.sum())
        self._proposed = self.weights.copy()
        self.gate_closed = False
        self.gate_nav = self.nav
        self.gate_peak = self.nav
        # ring buffer of the trailing gate NAVs whose maximum is the gate's peak
        self._gate_history = np.full(max(1, self.risk.drawdown_lookback_days), self.nav)
        self._gate_pos = 0

    def _allowed_exposure(self) -> float:
        """Most of NAV that may be invested after this decision under the drawdown rule (see the module doc);
        ``inf`` when the rule sets no limit now."""
        risk = self.risk
        if risk.drawdown_rule == "gate":
            return risk.gated_exposure if self.gate_closed else math.inf
        depth = 1.0 - self.gate_nav / self.gate_peak
        scale = drawdown_exposure(depth, risk.drawdown_reenter, risk.drawdown_gate, risk.overlay_floor)
        return scale * float(self._proposed.sum()) if scale < 1.0 else math.inf

    @property
    def proposed(self) -> np.ndarray:
        """(N,) the last decision's weights after the risk pipeline, before the drawdown rule (the simulator's own
        array, replaced at every decision: read it, do not modify it)."""
        return self._proposed

    @property
    def drawdown(self) -> float:
        return max(0.0, 1.0 - self.nav / self.peak)

    def tradable_at(self, t: int) -> np.ndarray:
        """(N,) bool names that may be held after a decision at row t."""
        return self.market.tradable[t]

    def risk_adjust(self, target: np.ndarray, t: int, invest_all: bool = False) -> tuple[np.ndarray, float, float]:
        """Apply liquidity, caps, min cash and CVaR to a proposal (N,) at row t -> (weights, cvar, cvar scale).

        ``target`` must be finite and non-negative; only its ratios matter, and its sum sets the invested total
        (capped at 1 - min cash) unless ``invest_all`` (the target is an unnormalised distribution to invest fully).

        The drawdown gate is applied separately in :meth:`step`.
        """
        m = self.market
        risk = self.risk
        p = target if self._all_tradable[t] else target * self._tradable[t]
        total = self._max_invested if invest_all else min(float(p.sum()), self._max_invested)
        w = self._project(p, total)
        if t == 0:
            return w, 0.0, 1.0
        window = m.returns[max(0, t - risk.cvar_window_days + 1) : t + 1]
        scale, loss = cvar_exposure_scale(w, window, risk.cvar_budget)
        if scale < 1.0:
            w *= scale
        return w, loss, scale

    def step(self, target: np.ndarray | None = None, t: int | None = None, invest_all: bool = False) -> StepResult:
        """Decide at the current row with ``target`` (N,) proposed weights (None = hold), realise at t+1.

        ``invest_all``: the target is an unnormalised distribution (e.g. softmax numerators) to invest up to
        1 - min cash; otherwise its sum is the intended invested fraction.
        """
        if t is not None and t != self.t:
            raise ValueError(f"simulator is at row {self.t}, step asked for row {t}")
        t = self.t
        m = self.market
        if t + 1 >= m.n_dates:
            raise ValueError(f"no session after row {t} to fill at")
        held = self.weights * m.gap[t + 1]
        held_sum = float(held.sum())
        open_rel = self.cash + held_sum  # NAV(open t+1) / NAV(close t)
        w_open = held / open_rel if open_rel > 0 else held
        cvar = 0.0
        scale = 1.0
        traded = True
        if target is None:
            w_new = w_open.copy()
            traded = False
        else:
            w_new, cvar, scale = self.risk_adjust(target, t, invest_all)
            self._proposed = w_new.copy()
        invested = float(w_new.sum())
        # the scale rule acts on decisions only (a hold never trades for it); a closed gate also empties holds
        allowed = self._allowed_exposure() if (traded or self.risk.drawdown_rule == "gate") else math.inf
        if invested > allowed:
            w_new *= allowed / invested
            invested = float(w_new.sum())
            traded = True
        if traded:
            gross = float(np.abs(w_new - w_open).sum())
            net = invested - (held_sum / open_rel if open_rel > 0 else held_sum)
        else:
            gross = net = 0.0
        cost_open = self._buy * 0.5 * (gross + net) + self._sell * 0.5 * (gross - net)  # fraction of NAV(open)
        grown = w_new * m.intraday[t + 1]
        cash = 1.0 - invested - cost_open
        close_rel = cash + float(grown.sum())  # NAV(close t+1) / NAV(open t+1)
        nav_prev = self.nav
        self.nav = nav_prev * open_rel * close_rel
        self.weights = grown / close_rel
        self.cash = cash / close_rel
        self.peak = max(self.peak, self.nav)
        ret = self.nav / nav_prev - 1.0
        # gate NAV: actual return while open, the proposed portfolio's gross return while closed (always, under the
        # scale rule: its drawdown must not depend on the scaling it drives)
        shadow = self.gate_closed or self.risk.drawdown_rule == "scale"
        gate_ret = float(self._proposed @ m.returns[t + 1]) if shadow else ret
        self.gate_nav *= 1.0 + gate_ret
        if self.risk.drawdown_lookback_days > 0:
            self._gate_history[self._gate_pos] = self.gate_nav
            self._gate_pos = (self._gate_pos + 1) % len(self._gate_history)
            self.gate_peak = float(self._gate_history.max())
        else:
            self.gate_peak = max(self.gate_peak, self.gate_nav)
        gated = allowed < math.inf if self.risk.drawdown_rule == "scale" else self.gate_closed
        self.gate_closed = update_drawdown_gate(
            self.gate_closed, 1.0 - self.gate_nav / self.gate_peak, self.risk.drawdown_gate, self.risk.drawdown_reenter
        )
        self.t = t + 1
        cost = cost_open * open_rel
        return StepResult(
            t=t,
            nav=self.nav,
            ret=ret,
            cost=cost,
            cost_value=cost * nav_prev,
            turnover=gross,
            drawdown=1.0 - self.nav / self.peak,
            weights=w_new,
            cash=self.cash,
            invested=invested,
            gated=gated,
            cvar=cvar,
            cvar_scale=scale,
        )


@dataclass(frozen=True)
class SimulationResult:
    """K decisions from row ``start``: nav (K+1,) starting with the initial NAV; the rest (K,) per decision."""

    start: int
    nav: np.ndarray
    returns: np.ndarray
    costs: np.ndarray
    turnover: np.ndarray
    drawdown: np.ndarray
    gated: np.ndarray
    weights: np.ndarray  # (K, N) executed weights


def simulate(
    market: MarketArrays | FeatureArrays,
    target_weights: np.ndarray,
    start: int,
    costs: CostConfig,
    risk: RiskConfig,
    initial_nav: float = 1.0,
    initial_weights: np.ndarray | None = None,
) -> SimulationResult:
    """Run the simulator over a (K, N) schedule of proposed weights decided at rows start .. start+K-1.

    A row that is entirely NaN means "hold" (no trade except what the drawdown gate forces). Uses exactly the step
    of :class:`PortfolioSimulator`, so backtests and environments share costs, risk rules and timing.
    """
    sim = PortfolioSimulator(market, costs, risk, initial_nav)
    sim.reset(start, initial_weights)
    schedule = np.asarray(target_weights, dtype=np.float64)
    k_steps, n = schedule.shape
    nav = np.empty(k_steps + 1)
    nav[0] = sim.nav
    out = {name: np.empty(k_steps) for name in ("returns", "costs", "turnover", "drawdown")}
    gated = np.zeros(k_steps, dtype=bool)
    weights = np.empty((k_steps, n))
    hold = np.isnan(schedule).all(axis=1)
    schedule = np.maximum(np.nan_to_num(schedule, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    for k in range(k_steps):
        res = sim.step(None if hold[k] else schedule[k])
        nav[k + 1] = res.nav
        out["returns"][k] = res.ret
        out["costs"][k] = res.cost
        out["turnover"][k] = res.turnover
        out["drawdown"][k] = res.drawdown
        gated[k] = res.gated
        weights[k] = res.weights
    return SimulationResult(start=start, nav=nav, gated=gated, weights=weights, **out)
