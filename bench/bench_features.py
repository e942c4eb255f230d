"""Benchmark the feature build against a straightforward pandas groupby/rolling implementation.

Generates the synthetic market deterministically (11 sectors x 46 stocks = 506 stocks, 2015-2024 business days),
loads it into a fresh warehouse, then in the same run times:

- ``build_features``: SQL + NumPy features, Pandera validation and the transactional write of every feature table,
  including reading the raw tables from the warehouse;
- ``pandas_features``: the same stock features, macro features, sector returns and labels written the plain way
  (per-symbol ``groupby().rolling()/ewm()/pct_change()``, ``merge_asof`` for fundamentals and macro,
  ``groupby('date').transform`` for cross-sectional work), including reading the raw tables; no validation or
  writing.

Prints one JSON object. Usage: ``.venv/bin/python bench/bench_features.py [--repeats 3] [--stocks-per-sector 46]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrl_sarp import warehouse as wh  # noqa: E402
from hrl_sarp.config import load_config  # noqa: E402
from hrl_sarp.data.benchmark import DEFAULT_INDEX_SYMBOL  # noqa: E402
from hrl_sarp.domain import TABLE_COLUMNS  # noqa: E402
from hrl_sarp.features.build import build_features  # noqa: E402


def make_warehouse(path: Path, stocks_per_sector: int, start: str, end: str) -> dict:
    from hrl_sarp.config import SyntheticConfig
    from hrl_sarp.data.synthetic import generate_market

    t0 = time.perf_counter()
    raw = generate_market(SyntheticConfig(stocks_per_sector=stocks_per_sector, start=start, end=end)).raw
    t1 = time.perf_counter()
    with wh.open_warehouse(path) as con, wh.transaction(con):
        for table, frame in raw.tables().items():
            if len(frame):
                wh.upsert(con, table, frame.reindex(columns=TABLE_COLUMNS[table]))
    t2 = time.perf_counter()
    stocks = int((raw.securities["kind"] == "stock").sum())
    return {"generate_s": t1 - t0, "load_s": t2 - t1, "stocks": stocks, "price_rows": len(raw.prices)}


# ------------------------------------------------------------------------------------------- pandas reference
def _rsi(g: pd.core.groupby.SeriesGroupBy) -> pd.Series:
    delta = g.diff()
    gain = (
        delta.clip(lower=0)
        .groupby(level=0)
        .transform(lambda s: s.ewm(alpha=1 / 14, adjust=False, min_periods=14).mean())
    )
    loss = (
        (-delta.clip(upper=0))
        .groupby(level=0)
        .transform(lambda s: s.ewm(alpha=1 / 14, adjust=False, min_periods=14).mean())
    )
    return 100 - 100 / (1 + gain / loss)


def pandas_features(con, cfg) -> dict[str, pd.DataFrame]:
    """The features of the build, the straightforward pandas way (same formulas, same neutral values)."""
    sec = con.execute("SELECT * FROM securities").df()
    stocks = sec[sec["kind"] == "stock"]
    px = con.execute("SELECT * FROM prices").df()
    bench = px[px["symbol"] == (cfg.data.benchmark or DEFAULT_INDEX_SYMBOL)].set_index("date")["close"].sort_index()
    px = px[px["symbol"].isin(stocks["symbol"])].merge(stocks[["symbol", "sector"]], on="symbol")
    px = px.sort_values(["symbol", "date"]).set_index("symbol")
    px["adj"] = px["adj_close"].fillna(px["close"])
    g = px.groupby(level=0)["adj"]
    out = px[["date", "sector"]].copy()
    out["return_1d"] = g.pct_change()
    out["return_5d"] = g.pct_change(5)
    out["return_20d"] = g.pct_change(20)
    out["volatility_20d"] = out.groupby(level=0)["return_1d"].rolling(20).std().reset_index(
        level=0, drop=True
    ) * np.sqrt(252)
    out["rsi_14"] = _rsi(g)
    ema = {span: g.transform(lambda s, span=span: s.ewm(span=span, adjust=False).mean()) for span in (12, 26)}
    macd = ema[12] - ema[26]
    signal = macd.groupby(level=0).transform(lambda s: s.ewm(span=9, adjust=False).mean())
    out["macd_signal"] = (macd - signal) / px["adj"]
    mean = g.rolling(20).mean().reset_index(level=0, drop=True)
    std = g.rolling(20).std(ddof=0).reset_index(level=0, drop=True)
    out["bb_position"] = (px["adj"] - (mean - 2 * std)) / (4 * std)
    vol_mean = px.groupby(level=0)["volume"].rolling(20).mean().reset_index(level=0, drop=True)
    out["volume_ratio_20d"] = px["volume"] / vol_mean
    out["delivery_pct"] = px["delivery_pct"]
    out = out.reset_index()

    fund = con.execute("SELECT * FROM fundamentals").df()
    wide = fund.pivot_table(index=["symbol", "available_at"], columns="field", values="value").reset_index()
    wide = wide.sort_values(["symbol", "available_at"])
    wide[wide.columns[2:]] = wide.groupby("symbol")[list(wide.columns[2:])].ffill()
    if "fii_holding_pct" in wide:
        wide["fii_holding_change"] = wide.groupby("symbol")["fii_holding_pct"].diff()
    if "eps" in wide and "eps_estimate" in wide:
        wide["earnings_surprise"] = ((wide["eps"] - wide["eps_estimate"]) / wide["eps_estimate"].abs()).clip(-1, 1)
    out = pd.merge_asof(
        out.sort_values("date"), wide.sort_values("available_at"), left_on="date", right_on="available_at",
        by="symbol",
    )  # fmt: skip
    close = out.merge(px.reset_index()[["symbol", "date", "close"]], on=["symbol", "date"])["close"].to_numpy()
    out["log_pe"] = np.log(close / out["eps"].where(out["eps"] > 0))
    out["log_pb"] = np.log(close / out["book_value_ps"].where(out["book_value_ps"] > 0))
    ev = close * out["shares_outstanding"] + out["net_debt"].fillna(0)
    out["log_ev"] = np.log((ev / out["ebitda"].where(out["ebitda"] > 0)).where(ev > 0))
    out["market_cap_log"] = np.log(close * out["shares_outstanding"])
    by_date = out.groupby("date")
    for src, dst in (("log_pe", "pe_zscore"), ("log_pb", "pb_zscore"), ("log_ev", "ev_ebitda_zscore")):
        z = (out[src] - by_date[src].transform("mean")) / by_date[src].transform("std", ddof=0)
        out[dst] = z.clip(-4, 4).fillna(0.0)
    out["sector_relative_strength"] = out["return_20d"] - out.groupby(["date", "sector"])["return_20d"].transform(
        "mean"
    )
    out = out.rename(columns={"analyst_rating": "avg_analyst_rating"})
    for col in ("volatility_20d", "delivery_pct", "roe", "roce", "debt_to_equity", "promoter_pledge_pct",
                "market_cap_log", "free_float_pct", "avg_analyst_rating"):  # fmt: skip
        out[col] = out[col].fillna(out.groupby("date")[col].transform("median")).fillna(0.0)
    fills = {"rsi_14": 50.0, "bb_position": 0.5, "volume_ratio_20d": 1.0}
    for col in ("return_1d", "return_5d", "return_20d", "macd_signal", "earnings_surprise",
                "sector_relative_strength", "fii_holding_change", *fills):  # fmt: skip
        out[col] = out[col].fillna(fills.get(col, 0.0))

    # Sector returns from each stock's own return, equal- and cap-weighted (cap at t-1).
    out = out.sort_values(["symbol", "date"])
    out["cap_prev"] = np.exp(out.groupby("symbol")["market_cap_log"].shift(1))
    out["wret"] = out["return_1d"] * out["cap_prev"]
    grouped = out.groupby(["date", "sector"])
    sectors = pd.DataFrame({"equal_weighted": grouped["return_1d"].mean(),
                            "cap_weighted": grouped["wret"].sum() / grouped["cap_prev"].sum()})  # fmt: skip
    out["forward_return"] = (
        out.groupby("symbol")["close"].shift(-cfg.features.forward_horizon_days) / out["close"]
        if "close" in out
        else np.nan
    )

    # Macro: merge_asof per series on publication, then the same transforms.
    macro = con.execute("SELECT * FROM macro").df()
    cal = pd.DataFrame({"date": np.sort(out["date"].unique())})
    for series, frame in macro.groupby("series"):
        cal = pd.merge_asof(cal, frame[["available_at", "value"]].sort_values("available_at").rename(
            columns={"value": series}), left_on="date", right_on="available_at").drop(columns="available_at")  # fmt: skip
    m = pd.DataFrame({"date": cal["date"]})
    m["india_vix"] = cal["india_vix"]
    m["india_vix_change_1w"] = cal["india_vix"].pct_change(5)
    for name, col in (("fii_flow_norm", "fii_flow"), ("dii_flow_norm", "dii_flow")):
        m[name] = (cal[col].rolling(5).mean() / cal[col].rolling(60).std()).clip(-5, 5)
    m["usd_inr_momentum"] = cal["usd_inr"].pct_change(20)
    m["crude_regime"] = cal["brent"] / cal["brent"].rolling(60).mean() - 1
    m["yield_curve_slope"] = cal["yield_10y"] - cal["yield_2y"]
    level = bench.reindex(cal["date"]).ffill()
    m["nifty_return_4w"] = level.pct_change(20).to_numpy()
    m["nifty_volatility_4w"] = level.pct_change().rolling(20).std().to_numpy() * np.sqrt(252)
    m["breadth_advance_decline"] = (cal["advances"] - cal["declines"]) / (cal["advances"] + cal["declines"])
    m["fno_oi_change"] = cal["fno_oi"].pct_change(5)
    m = m.fillna(0.0)
    return {"stock_features": out, "sector_returns": sectors, "macro_features": m}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks-per-sector", type=int, default=46)
    parser.add_argument("--start", default="2015-01-01")
    parser.add_argument("--end", default="2024-12-31")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="keep the warehouse in DIR")
    args = parser.parse_args()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_features_"))
    path = workdir / "bench.duckdb"
    if path.exists():
        path.unlink()
    setup = make_warehouse(path, args.stocks_per_sector, args.start, args.end)
    cfg = load_config("demo", overrides={"warehouse": str(path)})

    build_s, pandas_s, summary = [], [], None
    for _ in range(args.repeats):
        with wh.open_warehouse(path) as con:
            wh.execute(con, "DELETE FROM feature_builds")  # force a full rebuild each repeat
            t0 = time.perf_counter()
            summary = build_features(con, cfg, report_dir=workdir)
            build_s.append(time.perf_counter() - t0)
        with wh.open_warehouse(path, read_only=True) as con:
            t0 = time.perf_counter()
            frames = pandas_features(con, cfg)
            pandas_s.append(time.perf_counter() - t0)
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}",
        "stocks": setup["stocks"],
        "dates": summary.n_dates + cfg.features.warmup_days,
        "price_rows": setup["price_rows"],
        "stock_feature_rows": summary.rows["stock_features"],
        "build_s": [round(s, 3) for s in build_s],
        "build_best_s": round(min(build_s), 3),
        "pandas_s": [round(s, 3) for s in pandas_s],
        "pandas_best_s": round(min(pandas_s), 3),
        "speedup_best": round(min(pandas_s) / min(build_s), 2),
        "pandas_rows": len(frames["stock_features"]),
        "generate_s": round(setup["generate_s"], 2),
        "load_s": round(setup["load_s"], 2),
        "build_id": summary.build_id,
        "build_stage_seconds_last": summary.stage_seconds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
