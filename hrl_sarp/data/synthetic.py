"""The deterministic synthetic market: a seeded NSE-like market with planted, documented signals.

``generate_market(cfg)`` returns a :class:`SyntheticMarket`: ``raw`` in the :class:`~hrl_sarp.data.market.RawMarket`
layout (what the warehouse loads) and ``truth`` (:class:`GroundTruth`: the regime path, the planted sector drifts and
the macro loadings that produce them, the stock premia) for tests and for reading results against the oracle.
The model and its calibration are documented in ``docs/synthetic_market.md``.

Shapes: T trading dates, W weeks, S sectors (sorted names), N stocks (sorted symbols), K macro drift signals,
Q quarter ends. Returns are daily log returns unless a name says otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from hrl_sarp.config import SyntheticConfig
from hrl_sarp.data.benchmark import DEFAULT_INDEX_SYMBOL
from hrl_sarp.data.market import RawMarket
from hrl_sarp.data.synthetic_calendar import trading_days, week_ids
from hrl_sarp.domain import (
    FUNDAMENTAL_FIELDS,
    MACRO_SERIES,
    REGIME_CODES,
    TABLE_COLUMNS,
    TRADING_DAYS_PER_YEAR,
)
from hrl_sarp.errors import ConfigError

BULL, BEAR, SIDEWAYS = (REGIME_CODES[name] for name in ("Bull", "Bear", "Sideways"))

# Market factor per regime (index = regime code): annualised arithmetic drift and volatility.
REGIME_DRIFT = (0.20, -0.25, 0.0)
REGIME_VOL = (0.14, 0.28, 0.16)
REGIME_VIX = (14.5, 28.0, 17.5)  # India VIX level the log-VIX process reverts to
REGIME_FII = (350.0, -900.0, 0.0)  # mean daily FII net flow, INR crore
# Where a regime goes when it leaves (rows: from; columns: to; the diagonal is cfg.regime_persistence).
EXIT_SPLIT = ((0.0, 0.2, 0.8), (0.35, 0.0, 0.65), (0.7, 0.3, 0.0))
BEAR_EXIT_MULTIPLIER = 1.5  # Bear spells are shorter: its exit probability is 1.5 x (1 - persistence)
# Log-odds added per unit of the lagged stress score (rising VIX, FII outflows): Bear entry up, Bull down. The
# Bear row is tilted only towards Bull, so stress makes Bear likelier without making it stickier.
STRESS_TILT = ((-0.5, 1.0, 0.0), (-0.5, 0.0, 0.0), (-0.5, 1.0, 0.0))
STUDENT_T_DF = 5.0
GARCH = {"market": (0.08, 0.90), "sector": (0.06, 0.92), "stock": (0.05, 0.93)}  # (alpha, beta), unit-mean
MOMENTUM_WINDOW = (125, 20)  # momentum = log return from t-125 to t-20 relative to the sector, z-scored
VALUE_PHI = 1.0 - 1.0 / 250.0  # daily persistence of the cheapness latent
BREADTH_UNIVERSE = 2000  # listed names behind advances/declines
# Publication lag of each macro series in trading days (available_at = date shifted by the lag).
MACRO_LAG_DAYS = {"fii_flow": 1, "dii_flow": 1}
MACRO_SIGNALS = (
    "crude_mom_20d",  # log change of Brent over 20 sessions
    "usdinr_mom_20d",  # log change of USD/INR over 20 sessions (INR weakening > 0)
    "yield_10y_chg_60d",  # change of the 10Y yield over 60 sessions, percentage points
    "curve_slope",  # 10Y - 2Y yield
    "fii_flow_20d",  # sum of the last 20 published daily FII flows
    "log_vix",  # log India VIX
    "credit_spread_chg_20d",  # change of the credit spread over 20 sessions
)


@dataclass(frozen=True)
class SectorProfile:
    beta: float  # market beta of the sector's stocks
    sector_vol: float  # annualised volatility of the sector factor
    idio_vol: float  # annualised idiosyncratic volatility of a typical stock
    pe: float  # typical trailing P/E
    pb: float  # typical P/B
    debt_to_equity: float
    loadings: tuple[tuple[str, float], ...]  # (macro signal, raw loading) before demeaning and scaling


# Known NSE sectors (matched case-insensitively); any other sector name gets deterministic draws (see _profile).
# fmt: off
SECTOR_PROFILES: dict[str, SectorProfile] = {
    #                          beta  s_vol  i_vol  P/E   P/B   D/E   drift loadings on MACRO_SIGNALS
    "it":         SectorProfile(0.80, 0.09, 0.20, 25.0,  7.0, 0.1, (("usdinr_mom_20d", 1.0), ("crude_mom_20d", -0.2))),
    "financials": SectorProfile(1.15, 0.08, 0.21, 18.0,  2.5, 6.0, (("curve_slope", 0.6), ("fii_flow_20d", 0.7),
                                                                   ("yield_10y_chg_60d", -0.3),
                                                                   ("credit_spread_chg_20d", -0.4))),
    "auto":       SectorProfile(1.05, 0.09, 0.22, 22.0,  3.5, 0.6, (("crude_mom_20d", -0.6), ("yield_10y_chg_60d", -0.5),
                                                                   ("fii_flow_20d", 0.2))),
    "pharma":     SectorProfile(0.70, 0.09, 0.22, 28.0,  4.0, 0.3, (("usdinr_mom_20d", 0.6), ("log_vix", 0.4))),
    "fmcg":       SectorProfile(0.60, 0.07, 0.18, 45.0, 10.0, 0.2, (("log_vix", 0.6), ("crude_mom_20d", -0.4))),
    "energy":     SectorProfile(1.00, 0.10, 0.22, 12.0,  1.6, 0.8, (("crude_mom_20d", 1.0),)),
    "metals":     SectorProfile(1.30, 0.11, 0.26, 9.0,   1.4, 1.2, (("usdinr_mom_20d", 0.4), ("log_vix", -0.5),
                                                                   ("fii_flow_20d", 0.3), ("crude_mom_20d", 0.3))),
    "realty":     SectorProfile(1.40, 0.12, 0.28, 30.0,  2.2, 1.0, (("yield_10y_chg_60d", -0.8),
                                                                   ("credit_spread_chg_20d", -0.5),
                                                                   ("fii_flow_20d", 0.2))),
    "media":      SectorProfile(1.10, 0.10, 0.26, 20.0,  2.5, 0.4, (("log_vix", -0.4), ("fii_flow_20d", 0.4))),
    "telecom":    SectorProfile(0.80, 0.09, 0.23, 35.0,  3.0, 1.8, (("log_vix", 0.4), ("yield_10y_chg_60d", -0.4),
                                                                   ("credit_spread_chg_20d", -0.3))),
    "infra":      SectorProfile(1.15, 0.10, 0.24, 18.0,  2.0, 1.3, (("yield_10y_chg_60d", -0.5),
                                                                   ("credit_spread_chg_20d", -0.5),
                                                                   ("fii_flow_20d", 0.3))),
}
# fmt: on


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """What the generator planted. Rows follow ``dates`` / weeks; columns follow ``sectors`` / ``symbols``."""

    dates: np.ndarray  # (T,) datetime64[D] trading dates
    week_of: np.ndarray  # (T,) int64 week index of each date
    week_end_index: np.ndarray  # (W,) int64 row of the last trading date of each week
    regime_weekly: np.ndarray  # (W,) int64 latent regime per week (0 Bull, 1 Bear, 2 Sideways)
    regime_daily: np.ndarray  # (T,) int64 latent regime of each date's week
    benchmark: str  # symbol of the benchmark index row
    sectors: np.ndarray  # (S,) str, sorted
    sector_index_symbols: np.ndarray  # (S,) str, ``NIFTY_<SECTOR>`` index row of each sector
    symbols: np.ndarray  # (N,) str, sorted stock symbols
    stock_sector: np.ndarray  # (N,) int64 index into ``sectors``
    sector_beta: np.ndarray  # (S,) market beta of each sector
    stock_beta: np.ndarray  # (N,) market beta of each stock
    macro_signal_names: tuple[str, ...]  # (K,)
    macro_signals: np.ndarray  # (W,K) standardised signals as published by the end of week w-1 (row 0 = 0)
    sector_loadings: np.ndarray  # (S,K) per-day drift per unit signal; sector_drift_weekly = signals @ loadings.T
    sector_drift_weekly: np.ndarray  # (W,S) planted daily log drift of each sector during week w (sums to 0 over S)
    sector_drift_daily: np.ndarray  # (T,S) the same, per date
    expected_sector_returns: np.ndarray  # (W,S) planted expected log return of week w: days x (drift + beta mu_r)
    momentum_premium: float  # annualised drift per sd of momentum signal
    value_premium: float  # annualised drift per sd of cheapness
    momentum_signal: np.ndarray  # (T,N) z-scored sector-relative momentum used for the drift at t
    value_latent: np.ndarray  # (T,N) cheapness latent (unit variance); high = cheap (low P/E, higher drift)
    stock_alpha_daily: np.ndarray  # (T,N) planted stock drift from momentum and value (log return per day)
    listed: np.ndarray  # (T,N) bool listing window (prices exist exactly there)

    @property
    def n_weeks(self) -> int:
        return len(self.week_end_index)

    def default_top_k(self) -> int:
        return max(1, round(len(self.sectors) / 4))

    def oracle_sector_weights(self, top_k: int | None = None) -> np.ndarray:
        """(W,S) long-only weights: equal weight on the ``top_k`` sectors by planted drift of week w.

        Row w is decidable at the close of week w-1 (the drift of week w is a function of macro data published by
        then); row 0 has no information and holds all sectors equally.
        """
        k = self.default_top_k() if top_k is None else int(top_k)
        n_sectors = len(self.sectors)
        k = min(max(k, 1), n_sectors)
        order = np.argsort(-self.sector_drift_weekly, axis=1, kind="stable")[:, :k]
        weights = np.zeros_like(self.sector_drift_weekly)
        np.put_along_axis(weights, order, 1.0 / k, axis=1)
        weights[0] = 1.0 / n_sectors
        return weights


@dataclass(frozen=True, eq=False)
class SyntheticMarket:
    raw: RawMarket
    truth: GroundTruth


def sector_code(sector: str) -> str:
    """``"Oil & Gas"`` -> ``"OIL_GAS"``: the sector part of index symbols (``NIFTY_<code>``)."""
    return re.sub(r"[^A-Z0-9]+", "_", sector.upper()).strip("_")


def generate_market(cfg: SyntheticConfig, benchmark: str = DEFAULT_INDEX_SYMBOL) -> SyntheticMarket:
    """Generate the whole market for ``cfg`` (deterministic in ``cfg``; see docs/synthetic_market.md)."""
    sectors = _check_sectors(cfg.sectors)
    dates = trading_days(cfg.start, cfg.end)
    if len(dates) < 2 * MOMENTUM_WINDOW[0]:
        raise ConfigError(
            f"data.synthetic: {cfg.start}..{cfg.end} has {len(dates)} trading days; need at least "
            f"{2 * MOMENTUM_WINDOW[0]}"
        )
    after = trading_days(cfg.end + dt.timedelta(days=1), cfg.end + dt.timedelta(days=15))
    dates_ext = np.concatenate([dates, after])
    rng_market, rng_macro, rng_profile, rng_stock, rng_fund, rng_sent, rng_list, rng_trade = (
        np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(8)
    )
    n_days = len(dates)
    week_of = np.unique(week_ids(dates), return_inverse=True)[1].astype(np.int64)
    n_weeks = int(week_of[-1]) + 1
    week_first = np.searchsorted(week_of, np.arange(n_weeks), side="left")
    week_last = np.searchsorted(week_of, np.arange(n_weeks), side="right") - 1

    events = _events(dates, cfg.start, cfg.end)
    market = _simulate_market(rng_market, week_of, week_first, week_last, cfg.regime_persistence)
    regime_daily = market["regime_weekly"][week_of]
    macro = _simulate_macro(rng_macro, dates, market, regime_daily, events)
    signals = _macro_signals(macro, week_last)

    profiles = [_profile(name, rng_profile) for name in sectors]
    raw_loadings = np.array([[dict(p.loadings).get(k, 0.0) for k in MACRO_SIGNALS] for p in profiles])
    raw_loadings -= raw_loadings.mean(axis=0, keepdims=True)  # drifts are relative: they sum to 0 over sectors
    raw_drift = signals[1:] @ raw_loadings.T
    spread = float(raw_drift.std(axis=0).mean()) if raw_drift.size else 0.0
    target = cfg.sector_drift_vol * cfg.signal_strength / TRADING_DAYS_PER_YEAR
    loadings = raw_loadings * (target / spread if spread > 0 else 0.0)
    drift_weekly = signals @ loadings.T
    drift_daily = drift_weekly[week_of]

    universe = _universe(
        sectors, cfg.stocks_per_sector, benchmark, profiles, rng_stock, rng_list, n_days, cfg.listing_churn
    )
    stocks = _simulate_stocks(rng_stock, market["log_return"], drift_daily, universe, cfg)
    listed = universe["listed"]

    sector_beta = np.array([p.beta for p in profiles])
    days_in_week = np.bincount(week_of, minlength=n_weeks).astype(float)
    mu = np.array([(m - 0.5 * v * v) / TRADING_DAYS_PER_YEAR for m, v in zip(REGIME_DRIFT, REGIME_VOL, strict=True)])
    expected = days_in_week[:, None] * (drift_weekly + sector_beta[None, :] * mu[market["regime_weekly"]][:, None])

    prices = _prices_frame(rng_trade, dates, stocks, universe, benchmark)
    raw = RawMarket(
        securities=_securities_frame(dates, universe, benchmark),
        prices=prices,
        macro=_macro_frame(dates, dates_ext, macro),
        fundamentals=_fundamentals_frame(rng_fund, dates, stocks, universe, cfg),
        sentiment=_sentiment_frame(rng_sent, dates, sectors, drift_weekly, week_of, cfg.sentiment_signal),
        events=events,
    )
    truth = GroundTruth(
        dates=dates,
        week_of=week_of,
        week_end_index=week_last.astype(np.int64),
        regime_weekly=market["regime_weekly"],
        regime_daily=regime_daily,
        benchmark=benchmark,
        sectors=np.array(sectors),
        sector_index_symbols=np.array([f"NIFTY_{sector_code(s)}" for s in sectors]),
        symbols=universe["symbols"],
        stock_sector=universe["stock_sector"],
        sector_beta=sector_beta,
        stock_beta=universe["beta"],
        macro_signal_names=MACRO_SIGNALS,
        macro_signals=signals,
        sector_loadings=loadings,
        sector_drift_weekly=drift_weekly,
        sector_drift_daily=drift_daily,
        expected_sector_returns=expected,
        momentum_premium=cfg.momentum_premium,
        value_premium=cfg.value_premium,
        momentum_signal=stocks["momentum"],
        value_latent=stocks["value"],
        stock_alpha_daily=stocks["alpha"],
        listed=listed,
    )
    return SyntheticMarket(raw=raw, truth=truth)


def weekly_index_returns(market: SyntheticMarket) -> tuple[np.ndarray, np.ndarray]:
    """Simple returns between week-end closes: sector indices (W,S) and the benchmark (W,); row 0 is 0."""
    truth = market.truth
    prices = market.raw.prices
    indices = prices[prices["symbol"].isin([truth.benchmark, *truth.sector_index_symbols])]
    close = indices.pivot(index="date", columns="symbol", values="close")
    close = close.iloc[truth.week_end_index]
    sector_close = close[list(truth.sector_index_symbols)].to_numpy()
    bench_close = close[truth.benchmark].to_numpy()
    sector_ret = np.vstack([np.zeros((1, sector_close.shape[1])), sector_close[1:] / sector_close[:-1] - 1.0])
    bench_ret = np.concatenate([[0.0], bench_close[1:] / bench_close[:-1] - 1.0])
    return sector_ret, bench_ret


def oracle_information_ratio(market: SyntheticMarket, top_k: int | None = None) -> float:
    """Annualised information ratio vs the benchmark of :meth:`GroundTruth.oracle_sector_weights`, weekly
    rebalanced on sector index closes (no costs)."""
    sector_ret, bench_ret = weekly_index_returns(market)
    active = (market.truth.oracle_sector_weights(top_k) * sector_ret).sum(axis=1)[1:] - bench_ret[1:]
    return float(active.mean() / active.std(ddof=1) * math.sqrt(52))


# ---------------------------------------------------------------------------------------------------- building blocks


def _check_sectors(names: list[str]) -> list[str]:
    sectors = sorted(names)
    codes = [sector_code(s) for s in sectors]
    if any(not c for c in codes):
        raise ConfigError("data.synthetic.sectors: every sector name needs a letter or digit")
    if len(set(codes)) != len(codes):
        raise ConfigError(f"data.synthetic.sectors: names collide after normalisation: {sectors}")
    return sectors


def _profile(name: str, rng: np.random.Generator) -> SectorProfile:
    """The sector's profile: the table for known NSE sectors, else deterministic draws from ``rng``."""
    draws = (
        rng.uniform(0.7, 1.3),
        rng.uniform(0.07, 0.12),
        rng.uniform(0.18, 0.28),
        rng.uniform(12, 35),
        rng.uniform(1.5, 6.0),
        rng.uniform(0.2, 1.5),
        rng.choice(len(MACRO_SIGNALS), 2, replace=False),
        rng.normal(0.0, 0.8, 2),
    )  # drawn for every sector so that a known sector's presence does not shift the others' draws
    known = SECTOR_PROFILES.get(name.lower())
    if known is not None:
        return known
    beta, svol, ivol, pe, pb, de, picks, loads = draws
    loadings = tuple((MACRO_SIGNALS[int(i)], float(v)) for i, v in zip(picks, loads, strict=True))
    return SectorProfile(float(beta), float(svol), float(ivol), float(pe), float(pb), float(de), loadings)


def _student_t(rng: np.random.Generator, size) -> np.ndarray:
    """Student-t shocks scaled to unit variance."""
    return rng.standard_t(STUDENT_T_DF, size) * math.sqrt((STUDENT_T_DF - 2.0) / STUDENT_T_DF)


def _ar1(rng: np.random.Generator, phi: float, size, start: float | np.ndarray | None = None) -> np.ndarray:
    """Unit-variance AR(1) along axis 0, started from its stationary law (or ``start``)."""
    shape = (size,) if isinstance(size, int) else tuple(size)
    init = rng.standard_normal(shape[1:]) if start is None else np.broadcast_to(start, shape[1:])
    innov = rng.standard_normal(shape) * math.sqrt(1.0 - phi * phi)
    zi = (phi * np.asarray(init, dtype=float))[None, ...]
    return lfilter([1.0], [1.0, -phi], innov, axis=0, zi=zi)[0]


def _events(dates: np.ndarray, start: dt.date, end: dt.date) -> pd.DataFrame:
    """RBI_MPC on a trading day early in Feb/Apr/Jun/Aug/Oct/Dec; BUDGET on 1 Feb."""
    rows = []
    for year in range(start.year, end.year + 1):
        budget = dt.date(year, 2, 1)
        if start <= budget <= end:
            rows.append((budget, "BUDGET"))
        for month in (2, 4, 6, 8, 10, 12):
            target = np.datetime64(dt.date(year, month, 4 + (3 * year + month) % 4), "D")
            i = int(np.searchsorted(dates, target))
            if i < len(dates) and dates[i] - target < np.timedelta64(7, "D"):
                rows.append((dates[i].astype(dt.date), "RBI_MPC"))
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS["events"])
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    return frame.sort_values(["date", "event"], ignore_index=True)


def _simulate_market(
    rng: np.random.Generator, week_of: np.ndarray, week_first: np.ndarray, week_last: np.ndarray, persistence: float
) -> dict[str, np.ndarray]:
    """Weekly regime chain, market factor (GARCH, Student-t), India VIX and FII flows, simulated together.

    The regime of week w is drawn at its first session from a transition row tilted by the stress score known at
    the close of week w-1: the weekly change of log VIX and the (published) FII flows of that week.
    """
    n_days, n_weeks = len(week_of), len(week_last)
    z = _student_t(rng, n_days).tolist()
    vix_noise = rng.standard_normal(n_days).tolist()
    flow_noise = rng.standard_normal(n_days).tolist()
    fii_slow = (700.0 * _ar1(rng, 0.97, n_days)).tolist()
    uniforms = rng.random(n_weeks)
    regime = int(rng.choice(3, p=[0.5, 0.15, 0.35]))

    leave = np.full(3, 1.0 - persistence)
    leave[BEAR] = min(leave[BEAR] * BEAR_EXIT_MULTIPLIER, 0.99)
    base = np.array(EXIT_SPLIT) * leave[:, None] + np.diag(1.0 - leave)
    log_base = np.log(np.maximum(base, 1e-12))
    tilt = np.array(STRESS_TILT)
    a_m, b_m = GARCH["market"]
    drift = [(m - 0.5 * v * v) / TRADING_DAYS_PER_YEAR for m, v in zip(REGIME_DRIFT, REGIME_VOL, strict=True)]
    vol = [v / math.sqrt(TRADING_DAYS_PER_YEAR) for v in REGIME_VOL]
    log_level = [math.log(v) for v in REGIME_VIX]
    lo_vix, hi_vix = math.log(10.0), math.log(60.0)

    regime_weekly = np.empty(n_weeks, dtype=np.int64)
    log_vix = [0.0] * n_days
    fii = [0.0] * n_days
    ret = [0.0] * n_days
    g, z_prev, lv, fast = 1.0, 0.0, log_level[regime], 0.0
    first = set(week_first.tolist())
    for t in range(n_days):
        if t in first:
            w = int(week_of[t])
            if w > 0:
                end = int(week_last[w - 1])
                before = int(week_last[w - 2]) if w >= 2 else 0
                vix_change = (log_vix[end] - log_vix[before]) / 0.15
                flows = sum(fii[max(0, end - 5) : end]) / 4000.0  # FII is published a day late
                score = min(max(0.7 * vix_change - 0.7 * flows, -3.0), 3.0)
                p = np.exp(log_base[regime] + tilt[regime] * score)
                regime = int(np.searchsorted(np.cumsum(p / p.sum()), uniforms[w]))
                regime = min(regime, 2)
            regime_weekly[w] = regime
        g = (1.0 - a_m - b_m) + (a_m * z_prev * z_prev + b_m) * g
        shock = vol[regime] * math.sqrt(g) * z[t]
        ret[t] = drift[regime] + shock
        lv += 0.08 * (log_level[regime] - lv) + 0.05 * vix_noise[t] - 5.0 * shock
        lv = min(max(lv, lo_vix), hi_vix)
        fast = 0.3 * fast + 1100.0 * flow_noise[t] + 60000.0 * shock
        log_vix[t], fii[t], z_prev = lv, REGIME_FII[regime] + fii_slow[t] + fast, z[t]
    return {
        "regime_weekly": regime_weekly,
        "log_return": np.array(ret),
        "vix": np.exp(np.array(log_vix)),
        "fii_flow": np.array(fii),
    }


def _simulate_macro(
    rng: np.random.Generator, dates: np.ndarray, market: dict, regime_daily: np.ndarray, events: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Daily macro series (T,) each, in realistic ranges; trends are anchored to calendar years since 2015."""
    n_days = len(dates)
    years = (dates - np.datetime64("2015-01-01", "D")).astype(float) / 365.25
    log_vix = np.log(market["vix"])
    ret = market["log_return"]
    bear = lfilter([1 / 30], [1, -(1 - 1 / 30)], (regime_daily == BEAR).astype(float))
    bull = lfilter([1 / 30], [1, -(1 - 1 / 30)], (regime_daily == BULL).astype(float))

    usd_inr = 62.5 * np.exp(0.028 * years + 0.035 * _ar1(rng, 0.995, n_days) + 0.04 * (log_vix - math.log(16)))
    brent = 28.0 + 100.0 / (1.0 + np.exp(-(0.1 + 1.1 * _ar1(rng, 0.997, n_days))))

    target = 6.0 + 2.0 * np.tanh(_ar1(rng, 0.998, n_days))
    mpc = np.isin(dates, events.loc[events["event"] == "RBI_MPC", "date"].to_numpy().astype("datetime64[D]"))
    repo = np.empty(n_days)
    level = min(max(round(target[0] * 4) / 4, 4.0), 8.0)
    for t in range(n_days):
        if mpc[t]:
            step = max(min(round((target[t] - level) * 4) / 4, 0.5), -0.5)
            level = min(max(level + step, 4.0), 8.0)
        repo[t] = level
    yield_10y = np.clip(3.3 + 0.55 * repo + 0.35 * _ar1(rng, 0.995, n_days), 5.5, 8.5)
    yield_2y = np.clip(repo + 0.3 + 0.25 * _ar1(rng, 0.98, n_days), 3.25, 9.0)
    credit_spread = np.clip(0.9 + 0.8 * bear + 0.25 * _ar1(rng, 0.995, n_days), 0.4, 3.5)
    pcr = np.clip(1.0 + 0.15 * bull - 0.15 * bear + 0.12 * _ar1(rng, 0.9, n_days), 0.5, 1.8)
    fno_oi = 1.2e5 * np.exp(0.16 * years + 0.1 * _ar1(rng, 0.98, n_days))
    fii = market["fii_flow"]
    dii = 250.0 - 0.45 * fii + 700.0 * _ar1(rng, 0.5, n_days)
    up_share = 1.0 / (1.0 + np.exp(-(1.2 * ret / ret.std() + 0.3 * rng.standard_normal(n_days))))
    up_share = np.clip(up_share, 0.03, 0.97)
    traded = np.round(BREADTH_UNIVERSE * (0.95 + 0.03 * rng.random(n_days)))
    advances = np.round(traded * up_share)
    return {
        "india_vix": market["vix"],
        "fii_flow": fii,
        "dii_flow": dii,
        "usd_inr": usd_inr,
        "brent": brent,
        "repo_rate": repo,
        "yield_10y": yield_10y,
        "yield_2y": yield_2y,
        "credit_spread": credit_spread,
        "pcr": pcr,
        "fno_oi": fno_oi,
        "advances": advances,
        "declines": traded - advances,
    }


def _known(series: np.ndarray, name: str) -> np.ndarray:
    """(T,) the value of ``name`` last published by each date (publication lag in sessions)."""
    lag = MACRO_LAG_DAYS.get(name, 0)
    return np.concatenate([np.repeat(series[:1], lag), series[: len(series) - lag]])


def _macro_signals(macro: dict[str, np.ndarray], week_last: np.ndarray) -> np.ndarray:
    """(W,K) :data:`MACRO_SIGNALS` as published by the close of week w-1, standardised over weeks; row 0 is 0."""
    known = {name: _known(values, name) for name, values in macro.items()}
    ends = week_last[:-1]

    def back(n: int) -> np.ndarray:
        return np.maximum(ends - n, 0)

    flow_cum = np.concatenate([[0.0], np.cumsum(known["fii_flow"])])
    raw = np.column_stack(
        [
            np.log(known["brent"][ends] / known["brent"][back(20)]),
            np.log(known["usd_inr"][ends] / known["usd_inr"][back(20)]),
            known["yield_10y"][ends] - known["yield_10y"][back(60)],
            known["yield_10y"][ends] - known["yield_2y"][ends],
            flow_cum[ends + 1] - flow_cum[np.maximum(ends + 1 - 20, 0)],
            np.log(known["india_vix"][ends]),
            known["credit_spread"][ends] - known["credit_spread"][back(20)],
        ]
    )
    std = raw.std(axis=0)
    z = (raw - raw.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return np.vstack([np.zeros((1, len(MACRO_SIGNALS))), z])


def _universe(
    sectors: list[str],
    per_sector: int,
    benchmark: str,
    profiles: list[SectorProfile],
    rng: np.random.Generator,
    rng_list: np.random.Generator,
    n_days: int,
    churn: float,
) -> dict:
    """Symbols (sorted), sector map, static stock parameters and listing windows."""
    width = max(2, len(str(per_sector)))
    symbols, stock_sector, position = [], [], []
    for s, name in enumerate(sectors):
        prefix = sector_code(name).replace("_", "")
        for j in range(per_sector):
            symbols.append(f"{prefix}{j + 1:0{width}d}")
            stock_sector.append(s)
            position.append(j)
    index_symbols = [benchmark] + [f"NIFTY_{sector_code(s)}" for s in sectors]
    everything = symbols + index_symbols
    if len(set(everything)) != len(everything):
        raise ConfigError(f"data.synthetic: symbols collide (benchmark '{benchmark}' vs generated symbols)")
    order = np.argsort(np.array(symbols), kind="stable")
    symbols_arr = np.array(symbols)[order]
    stock_sector_arr = np.array(stock_sector, dtype=np.int64)[order]
    position_arr = np.array(position)[order]
    n = len(symbols_arr)

    beta_s = np.array([p.beta for p in profiles])[stock_sector_arr]
    idio_s = np.array([p.idio_vol for p in profiles])[stock_sector_arr]
    beta = beta_s * np.exp(0.12 * rng.standard_normal(n))
    idio_vol = idio_s * np.exp(0.2 * rng.standard_normal(n))
    start_price = np.exp(rng.normal(math.log(400.0), 0.8, n))
    shares_crore = np.exp(rng.normal(math.log(80.0), 0.6, n))

    listed = np.ones((n_days, n), dtype=bool)
    listed_on = np.full(n, -1)
    delisted_on = np.full(n, -1)
    eligible = np.flatnonzero(position_arr >= 1)  # each sector's first stock trades throughout
    if len(eligible) >= 2 and churn > 0:
        count = max(1, round(len(eligible) * churn / 2))
        count = min(count, len(eligible) // 2)
        chosen = rng_list.permutation(eligible)[: 2 * count]
        for i in chosen[:count]:
            listed_on[i] = int(rng_list.integers(int(0.1 * n_days), int(0.6 * n_days)))
            listed[: listed_on[i], i] = False
        for i in chosen[count:]:
            delisted_on[i] = int(rng_list.integers(int(0.4 * n_days), int(0.9 * n_days)))
            listed[delisted_on[i] + 1 :, i] = False
    return {
        "symbols": symbols_arr,
        "stock_sector": stock_sector_arr,
        "sectors": sectors,
        "profiles": profiles,
        "beta": beta,
        "idio_vol": idio_vol,
        "start_price": start_price,
        "shares_crore": shares_crore,
        "listed": listed,
        "listed_on": listed_on,
        "delisted_on": delisted_on,
    }


def _simulate_stocks(
    rng: np.random.Generator, market_return: np.ndarray, drift_daily: np.ndarray, universe: dict, cfg: SyntheticConfig
) -> dict[str, np.ndarray]:
    """Stock log returns (T,N): alpha + beta x market + sector drift + sector shock + idiosyncratic shock.

    Sector and idiosyncratic shocks are unit-mean GARCH(1,1) with Student-t innovations. The stock alpha is
    ``momentum_premium/252 * momentum_z + value_premium/252 * cheapness`` with momentum computed on the simulated
    path itself (so the loop runs over dates with vectors over stocks).
    """
    n_days, n_sectors = drift_daily.shape
    sec = universe["stock_sector"]
    n = len(sec)
    profiles = universe["profiles"]
    sector_vol = np.array([p.sector_vol for p in profiles]) / math.sqrt(TRADING_DAYS_PER_YEAR)
    idio_vol = universe["idio_vol"] / math.sqrt(TRADING_DAYS_PER_YEAR)
    beta = universe["beta"]
    z_sector = _student_t(rng, (n_days, n_sectors))
    z_stock = _student_t(rng, (n_days, n))
    value = _ar1(rng, VALUE_PHI, (n_days, n))
    member = np.zeros((n_sectors, n))
    member[sec, np.arange(n)] = 1.0
    member /= member.sum(axis=1, keepdims=True)
    a_s, b_s = GARCH["sector"]
    a_i, b_i = GARCH["stock"]
    mom_prem = cfg.momentum_premium / TRADING_DAYS_PER_YEAR
    value_alpha = cfg.value_premium / TRADING_DAYS_PER_YEAR * value
    long_lag, short_lag = MOMENTUM_WINDOW

    cum = np.zeros((n_days + 1, n))  # cum[t] = log return of days 0..t-1
    log_return = np.empty((n_days, n))
    momentum = np.zeros((n_days, n))
    g_s, g_i = np.ones(n_sectors), np.ones(n)
    zs_prev, zi_prev = np.zeros(n_sectors), np.zeros(n)
    sector_part = drift_daily.copy()
    for t in range(n_days):
        g_s = (1.0 - a_s - b_s) + (a_s * zs_prev * zs_prev + b_s) * g_s
        g_i = (1.0 - a_i - b_i) + (a_i * zi_prev * zi_prev + b_i) * g_i
        zs_prev, zi_prev = z_sector[t], z_stock[t]
        sector_part[t] += sector_vol * np.sqrt(g_s) * zs_prev
        if t > short_lag:
            past = cum[t - short_lag] - cum[max(t - long_lag, 0)]
            rel = past - (member @ past)[sec]
            spread = rel.std()
            if spread > 1e-12:
                momentum[t] = np.clip((rel - rel.mean()) / spread, -3.0, 3.0)
        log_return[t] = (
            mom_prem * momentum[t]
            + value_alpha[t]
            + beta * market_return[t]
            + sector_part[t, sec]
            + idio_vol * np.sqrt(g_i) * zi_prev
        )
        cum[t + 1] = cum[t] + log_return[t]
    total_vol = np.sqrt((beta * 0.18) ** 2 + (sector_vol[sec] ** 2 + idio_vol**2) * TRADING_DAYS_PER_YEAR)
    close = universe["start_price"] * np.exp(cum[1:])
    return {
        "log_return": log_return,
        "alpha": mom_prem * momentum + value_alpha,
        "momentum": momentum,
        "value": value,
        "daily_vol": total_vol / math.sqrt(TRADING_DAYS_PER_YEAR),
        "close": close,
        "prev_close": np.vstack([universe["start_price"][None, :], close[:-1]]),
    }


def _as_ns(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


def _prices_frame(
    rng: np.random.Generator, dates: np.ndarray, stocks: dict, universe: dict, benchmark: str
) -> pd.DataFrame:
    """Stock rows inside listing windows plus cap-weighted benchmark and sector index rows.

    Index return at t = sum over stocks listed at t-1 and t of cap(t-1) * simple return / sum of cap(t-1);
    open/high/low of an index apply the same weights to the constituents' open/high/low relatives.
    """
    n_days, n = stocks["close"].shape
    close, prev = stocks["close"], stocks["prev_close"]
    log_ret = stocks["log_return"]
    sd = stocks["daily_vol"][None, :]
    gap = 0.35 * log_ret + 0.2 * sd * rng.standard_normal((n_days, n))
    open_ = prev * np.exp(gap)
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = top * np.exp(0.5 * sd * np.abs(rng.standard_normal((n_days, n))))
    low = bottom * np.exp(-0.5 * sd * np.abs(rng.standard_normal((n_days, n))))
    turnover = np.exp(rng.normal(math.log(0.0025), 0.4, n))
    shares = universe["shares_crore"] * 1e7
    volume = np.maximum(
        np.round(
            shares * turnover * np.exp(0.35 * rng.standard_normal((n_days, n))) * (1 + 1.5 * np.abs(log_ret) / sd)
        ),
        1.0,
    )
    base_delivery = rng.uniform(-0.6, 0.4, n)
    delivery = 100.0 / (
        1.0 + np.exp(-(base_delivery + 0.3 * rng.standard_normal((n_days, n)) - 0.4 * np.abs(log_ret) / sd))
    )
    delivery = np.clip(delivery, 1.0, 99.0)

    listed = universe["listed"]
    both = listed & np.vstack([listed[:1], listed[:-1]])
    cap_weight = prev * universe["shares_crore"] * both
    index_symbols = [benchmark] + [f"NIFTY_{sector_code(s)}" for s in universe["sectors"]]
    member = np.zeros((n, len(index_symbols)))  # (N, 1+S): the benchmark holds every stock
    member[:, 0] = 1.0
    member[np.arange(n), 1 + universe["stock_sector"]] = 1.0
    base = np.array([8000.0] + [10000.0] * len(universe["sectors"]))
    total = cap_weight @ member
    total = np.where(total > 0, total, 1.0)

    def mix(relative: np.ndarray) -> np.ndarray:
        return ((cap_weight * relative) @ member) / total

    ret = mix(close / prev - 1.0)
    ret[0] = 0.0
    level = base * np.cumprod(1.0 + ret, axis=0)
    level_prev = np.vstack([base, level[:-1]])
    idx_open = level_prev * (1.0 + mix(open_ / prev - 1.0))
    idx_open[0] = base
    live_volume = volume * listed
    idx_volume = live_volume @ member
    index_cols = {
        "open": idx_open,
        "high": np.maximum(idx_open, level) * mix(high / top),
        "low": np.minimum(idx_open, level) * mix(low / bottom),
        "close": level,
        "adj_close": level,
        "volume": idx_volume,
        "delivery_pct": ((delivery * live_volume) @ member) / idx_volume,
    }
    stock_cols = {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "adj_close": close,
        "volume": volume,
        "delivery_pct": delivery,
    }
    # One block per symbol, each in date order; blocks in symbol order, so no sort of the long frame is needed.
    blocks = [(str(sym), i, True) for i, sym in enumerate(universe["symbols"])]
    blocks += [(sym, g, False) for g, sym in enumerate(index_symbols)]
    blocks.sort(key=lambda block: block[0])
    listed_t = listed.T
    columns: dict[str, list[np.ndarray]] = {"date": []} | {k: [] for k in stock_cols}
    lengths = []
    for _sym, j, is_stock in blocks:
        rows = listed_t[j] if is_stock else slice(None)
        source = stock_cols if is_stock else index_cols
        day_values = dates[rows]
        lengths.append(len(day_values))
        columns["date"].append(day_values)
        for name, values in source.items():
            columns[name].append(values[:, j][rows])
    frame = {"date": _as_ns(np.concatenate(columns["date"]))}
    frame["symbol"] = np.repeat(np.array([block[0] for block in blocks], dtype=object), lengths)
    frame |= {name: np.concatenate(parts) for name, parts in columns.items() if name != "date"}
    return pd.DataFrame(frame)[TABLE_COLUMNS["prices"]]


def _securities_frame(dates: np.ndarray, universe: dict, benchmark: str) -> pd.DataFrame:
    """Stocks (listed_on/delisted_on = first/last priced date where the window is partial, else NaT) and indices."""
    sectors = universe["sectors"]
    symbols = universe["symbols"]

    def window(index: np.ndarray) -> np.ndarray:
        out = np.full(len(index), np.datetime64("NaT"), dtype="datetime64[ns]")
        out[index >= 0] = _as_ns(dates[index[index >= 0]])
        return out

    stocks = pd.DataFrame(
        {
            "symbol": symbols,
            "sector": [sectors[k] for k in universe["stock_sector"]],
            "name": [
                f"Synthetic {sectors[k]} stock {sym}" for k, sym in zip(universe["stock_sector"], symbols, strict=True)
            ],
            "kind": "stock",
            "listed_on": window(universe["listed_on"]),
            "delisted_on": window(universe["delisted_on"]),
        }
    )
    indices = pd.DataFrame(
        {
            "symbol": [benchmark] + [f"NIFTY_{sector_code(s)}" for s in sectors],
            "sector": ["MARKET"] + list(sectors),
            "name": [f"Synthetic {benchmark} (cap-weighted, all stocks)"] + [f"Synthetic Nifty {s}" for s in sectors],
            "kind": "index",
            "listed_on": np.datetime64("NaT", "ns"),
            "delisted_on": np.datetime64("NaT", "ns"),
        }
    )
    return pd.concat([stocks, indices], ignore_index=True)[TABLE_COLUMNS["securities"]]


def _macro_frame(dates: np.ndarray, dates_ext: np.ndarray, macro: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long macro rows; ``available_at`` = the date ``MACRO_LAG_DAYS`` sessions later (same day by default)."""
    n_days = len(dates)
    frames = []
    for name in MACRO_SERIES:
        lag = MACRO_LAG_DAYS.get(name, 0)
        frames.append(
            pd.DataFrame(
                {
                    "date": _as_ns(dates),
                    "series": name,
                    "value": macro[name].astype(float),
                    "available_at": _as_ns(dates_ext[lag : lag + n_days]),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[TABLE_COLUMNS["macro"]]


def _fundamentals_frame(
    rng: np.random.Generator, dates: np.ndarray, stocks: dict, universe: dict, cfg: SyntheticConfig
) -> pd.DataFrame:
    """Quarterly fundamentals for listed stocks, released ``fundamentals_lag_days`` (+-5 days) after quarter end.

    P/E = exp(log sector P/E - 0.35 * cheapness + noise), EPS (quarterly) = price at quarter end / P/E / 4; P/B and
    book value likewise (-0.3 * cheapness); ROE = 100 * P/B / P/E so that the fields stay mutually consistent.
    Rows released after the last market date are not yet public and are left out.
    """
    first, last = dates[0].astype(dt.date), dates[-1].astype(dt.date)
    quarter_ends = [
        np.datetime64(dt.date(y, m, d), "D")
        for y in range(first.year, last.year + 1)
        for m, d in ((3, 31), (6, 30), (9, 30), (12, 31))
        if first <= dt.date(y, m, d) <= last
    ]
    period_end = np.array(quarter_ends, dtype="datetime64[D]")
    n_q, n = len(period_end), len(universe["symbols"])
    row = np.searchsorted(dates, period_end, side="right") - 1
    profiles = universe["profiles"]
    sec = universe["stock_sector"]
    price = stocks["close"][row]
    cheap = stocks["value"][row]
    momentum = stocks["momentum"][row]
    shares = universe["shares_crore"]

    def stock_level(sd: float) -> np.ndarray:
        return sd * rng.standard_normal(n)[None, :]

    pe = np.exp(
        np.log(np.array([p.pe for p in profiles]))[sec]
        + stock_level(0.15)
        - 0.35 * cheap
        + 0.12 * _ar1(rng, 0.7, (n_q, n))
    )
    eps = price / pe / 4.0
    eps_estimate = eps * np.exp(0.05 * rng.standard_normal((n_q, n)))
    pb = np.exp(
        np.log(np.array([p.pb for p in profiles]))[sec]
        + stock_level(0.15)
        - 0.3 * cheap
        + 0.08 * _ar1(rng, 0.7, (n_q, n))
    )
    book = price / pb
    roe = 100.0 * pb / pe
    roce = roe * 0.85 + 2.0 + 1.5 * rng.standard_normal((n_q, n))
    debt_to_equity = np.array([p.debt_to_equity for p in profiles])[sec] * np.exp(
        stock_level(0.3) + 0.1 * _ar1(rng, 0.8, (n_q, n))
    )
    ebitda = eps * shares * 1.7 * np.exp(0.1 * rng.standard_normal((n_q, n)))
    net_debt = book * shares * (debt_to_equity - 0.2)
    pledge_base = np.where(rng.random(n) < 0.65, 0.0, rng.uniform(3.0, 30.0, n))
    pledge = np.clip(pledge_base * np.exp(0.2 * _ar1(rng, 0.8, (n_q, n))), 0.0, 80.0)
    free_float = np.clip(rng.uniform(25.0, 75.0, n) + 1.0 * _ar1(rng, 0.9, (n_q, n)), 10.0, 100.0)
    fii_holding = np.clip(rng.uniform(8.0, 35.0, n) + 2.0 * _ar1(rng, 0.9, (n_q, n)), 0.0, 75.0)
    rating = np.clip(3.4 + 0.35 * momentum + 0.2 * cheap + 0.3 * rng.standard_normal((n_q, n)), 1.0, 5.0)
    values = {
        "eps": eps,
        "eps_estimate": eps_estimate,
        "book_value_ps": book,
        "roe": roe,
        "roce": roce,
        "debt_to_equity": debt_to_equity,
        "ebitda": ebitda,
        "net_debt": net_debt,
        "shares_outstanding": np.broadcast_to(shares, (n_q, n)),
        "promoter_pledge_pct": pledge,
        "free_float_pct": free_float,
        "fii_holding_pct": fii_holding,
        "analyst_rating": rating,
    }
    jitter = rng.integers(-5, 6, (n_q, n))
    lag = np.maximum(cfg.fundamentals_lag_days + jitter, 1)
    available = period_end[:, None] + lag.astype("timedelta64[D]")
    keep = universe["listed"][row] & (available <= dates[-1])
    q_idx, i_idx = np.nonzero(keep)
    frames = [
        pd.DataFrame(
            {
                "symbol": universe["symbols"][i_idx],
                "period_end": _as_ns(period_end[q_idx]),
                "field": field,
                "value": values[field][q_idx, i_idx].astype(float),
                "available_at": _as_ns(available[q_idx, i_idx]),
            }
        )
        for field in FUNDAMENTAL_FIELDS
    ]
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["symbol", "period_end", "field"], ignore_index=True)[TABLE_COLUMNS["fundamentals"]]


def _sentiment_frame(
    rng: np.random.Generator,
    dates: np.ndarray,
    sectors: list[str],
    drift_weekly: np.ndarray,
    week_of: np.ndarray,
    loading: float,
) -> pd.DataFrame:
    """Daily sector news sentiment in [-1, 1]: tanh(0.6 * (loading * z(drift of next week) + AR(1) noise))."""
    n_days, n_sectors = len(dates), len(sectors)
    spread = drift_weekly[1:].std()
    z_drift = drift_weekly / spread if spread > 0 else np.zeros_like(drift_weekly)
    z_next = np.vstack([z_drift[1:], np.zeros((1, n_sectors))])[week_of]
    value = np.tanh(0.6 * (loading * z_next + _ar1(rng, 0.7, (n_days, n_sectors))))
    t_idx = np.repeat(np.arange(n_days), n_sectors)
    s_idx = np.tile(np.arange(n_sectors), n_days)
    frame = pd.DataFrame(
        {
            "date": _as_ns(dates[t_idx]),
            "sector": np.array(sectors)[s_idx],
            "value": value[t_idx, s_idx],
            "available_at": _as_ns(dates[t_idx]),
        }
    )
    return frame.sort_values(["sector", "date"], ignore_index=True)[TABLE_COLUMNS["sentiment"]]
