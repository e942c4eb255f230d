"""Small deterministic raw markets for the feature tests, loaded straight into a warehouse with ``upsert``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hrl_sarp import warehouse as wh
from hrl_sarp.config import load_config
from hrl_sarp.data.market import RawMarket, empty_frame
from hrl_sarp.domain import FUNDAMENTAL_FIELDS, MACRO_SERIES, TABLE_COLUMNS

MACRO_LEVELS = {
    "india_vix": 15.0, "fii_flow": 0.0, "dii_flow": 0.0, "usd_inr": 80.0, "brent": 80.0, "repo_rate": 6.5,
    "yield_10y": 7.2, "yield_2y": 6.8, "credit_spread": 1.2, "pcr": 1.0, "fno_oi": 1e6, "advances": 1000.0,
    "declines": 1000.0,
}  # fmt: skip
FUND_LEVELS = {
    "eps": 20.0, "eps_estimate": 19.0, "book_value_ps": 150.0, "roe": 0.15, "roce": 0.18, "debt_to_equity": 0.6,
    "ebitda": 500.0, "net_debt": 200.0, "shares_outstanding": 50.0, "promoter_pledge_pct": 3.0,
    "free_float_pct": 45.0, "fii_holding_pct": 20.0, "analyst_rating": 3.5,
}  # fmt: skip


def make_market(
    sectors: tuple[str, ...] = ("Auto", "Energy", "IT"),
    per_sector: int = 4,
    days: int = 160,
    seed: int = 0,
    close_only: bool = False,
    macro: bool = True,
    fundamentals: bool = True,
    benchmark: str | None = "NIFTY50",
    churn: bool = True,
) -> RawMarket:
    """A RawMarket on business days from 2021-01-01: random-walk stocks, an index, macro series published with a
    1-day lag, quarterly fundamentals released 45 days after quarter end, two events. With ``churn`` one stock
    lists late and one delists early."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-01", periods=days)
    symbols = [f"{s[:3].upper()}{j}" for s in sectors for j in range(per_sector)]
    sector_of = [s for s in sectors for _ in range(per_sector)]
    n = len(symbols)
    listed_on = [pd.NaT] * n
    delisted_on = [pd.NaT] * n
    if churn and n >= 3:
        listed_on[1] = dates[days // 3]
        delisted_on[2] = dates[2 * days // 3]
    securities = pd.DataFrame(
        {"symbol": symbols, "sector": sector_of, "name": symbols, "kind": "stock",
         "listed_on": listed_on, "delisted_on": delisted_on}
    )  # fmt: skip
    frames = []
    log_ret = rng.normal(0.0003, 0.015, (days, n)) + rng.normal(0, 0.008, (days, 1))
    close = 100.0 * np.exp(rng.normal(0, 0.5, n))[None, :] * np.exp(np.cumsum(log_ret, axis=0))
    for i, symbol in enumerate(symbols):
        keep = np.ones(days, dtype=bool)
        if not pd.isna(listed_on[i]):
            keep &= dates >= listed_on[i]
        if not pd.isna(delisted_on[i]):
            keep &= dates <= delisted_on[i]
        if i == 3:
            keep[days // 2 : days // 2 + 2] = False  # a two-day trading halt
        c = close[keep, i]
        frame = pd.DataFrame({"date": dates[keep], "symbol": symbol, "close": c})
        if not close_only:
            frame["open"] = c * (1 + rng.normal(0, 0.003, len(c)))
            frame["high"] = np.maximum(frame["open"], c) * 1.01
            frame["low"] = np.minimum(frame["open"], c) * 0.99
            frame["adj_close"] = c
            frame["volume"] = rng.lognormal(12, 0.4, len(c))
            frame["delivery_pct"] = rng.uniform(20, 70, len(c))
        frames.append(frame)
    if benchmark is not None:
        level = 1000.0 * np.exp(np.cumsum(log_ret.mean(axis=1)))
        frames.append(pd.DataFrame({"date": dates, "symbol": benchmark, "close": level}))
        securities = pd.concat(
            [securities, pd.DataFrame({"symbol": [benchmark], "sector": ["Index"], "name": [benchmark],
                                       "kind": ["index"], "listed_on": [pd.NaT], "delisted_on": [pd.NaT]})]
        )  # fmt: skip
    prices = pd.concat(frames, ignore_index=True).reindex(columns=TABLE_COLUMNS["prices"])
    raw = RawMarket(securities=securities.reset_index(drop=True), prices=prices)
    if macro:
        rows = []
        for k, series in enumerate(MACRO_SERIES):
            base = MACRO_LEVELS[series]
            scale = max(abs(base), 1.0) * 0.01
            values = (
                base + np.cumsum(rng.normal(0, scale, days)) + (0 if series != "fii_flow" else rng.normal(0, 500, days))
            )
            rows.append(pd.DataFrame({"date": dates, "series": series, "value": values,
                                      "available_at": dates + pd.Timedelta(days=1 + (k % 2))}))  # fmt: skip
        raw.macro = pd.concat(rows, ignore_index=True)
    if fundamentals:
        quarters = pd.date_range(dates[0] - pd.Timedelta(days=200), dates[-1], freq="QE")
        rows = []
        for symbol in symbols:
            for q in quarters:
                for field in FUNDAMENTAL_FIELDS:
                    base = FUND_LEVELS[field]
                    rows.append((symbol, q, field, base * float(np.exp(rng.normal(0, 0.2))), q + pd.Timedelta(days=45)))
        raw.fundamentals = pd.DataFrame(rows, columns=TABLE_COLUMNS["fundamentals"])
    raw.events = pd.DataFrame({"date": [dates[days // 4], dates[3 * days // 4]], "event": ["RBI_MPC", "BUDGET"]})
    raw.sentiment = empty_frame("sentiment")
    return raw


def load_market(path, raw: RawMarket) -> None:
    """Upsert every non-empty table of ``raw`` into the warehouse at ``path``."""
    with wh.open_warehouse(path) as con, wh.transaction(con):
        for table, frame in raw.tables().items():
            if len(frame):
                wh.upsert(con, table, frame.reindex(columns=TABLE_COLUMNS[table]))


def feature_config(path, **overrides):
    """The demo config pointed at ``path`` with short warm-up, plus dotted overrides."""
    return load_config("demo", overrides={"warehouse": str(path), "features.warmup_days": 30, **overrides})
