"""The feature build: point in time, reference values, idempotence, coverage and odd datasets."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.data.market import RawMarket
from hrl_sarp.features.build import build_features
from hrl_sarp.features.loader import load_feature_arrays
from hrl_sarp.features.spec import MACRO_FEATURES, STOCK_FEATURES
from tests.features.raw_market import feature_config, load_market, make_market
from tests.features.test_indicators import pandas_bb, pandas_macd, pandas_rsi


def build_and_load(path, raw: RawMarket | None = None, **overrides):
    if raw is not None:
        load_market(path, raw)
    cfg = feature_config(path, **overrides)
    with wh.open_warehouse(path) as con:
        summary = build_features(con, cfg)
        arrays = load_feature_arrays(con, summary.build_id)
    return summary, arrays, cfg


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("build") / "wh.duckdb"
    raw = make_market()
    raw.sentiment = daily_sentiment(raw, seed=3)
    summary, arrays, cfg = build_and_load(path, raw)
    return {"path": path, "raw": raw, "summary": summary, "arrays": arrays, "cfg": cfg}


def daily_sentiment(raw: RawMarket, seed: int) -> pd.DataFrame:
    """A sentiment observation per stock sector and price date, uniform in [-1, 1], known the same day."""
    rng = np.random.default_rng(seed)
    dates = sorted(raw.prices["date"].unique())
    sectors = sorted(raw.securities.loc[raw.securities["kind"] == "stock", "sector"].unique())
    frame = pd.DataFrame([(s, d) for s in sectors for d in dates], columns=["sector", "date"])
    frame["value"] = rng.uniform(-1.0, 1.0, len(frame))
    frame["available_at"] = frame["date"]
    return frame


def garbage_after(raw: RawMarket, cutoff: pd.Timestamp, seed: int) -> RawMarket:
    """A copy of ``raw`` whose prices, macro values and fundamentals after ``cutoff`` are random garbage."""
    rng = np.random.default_rng(seed)
    prices = raw.prices.copy()
    late = prices["date"] > cutoff
    for col in ("open", "high", "low", "close", "adj_close"):
        prices.loc[late, col] = rng.uniform(0.5, 5000.0, late.sum())
    prices.loc[late, "volume"] = rng.uniform(0, 1e9, late.sum())
    prices.loc[late, "delivery_pct"] = rng.uniform(0, 100, late.sum())
    macro = raw.macro.copy()
    late = (macro["date"] > cutoff) | (macro["available_at"] > cutoff)
    macro.loc[late, "value"] = rng.uniform(0.01, 1000.0, late.sum())
    fund = raw.fundamentals.copy()
    late = fund["available_at"] > cutoff
    fund.loc[late, "value"] = rng.uniform(0.01, 100.0, late.sum())
    sentiment = raw.sentiment.copy()
    late = (sentiment["date"] > cutoff) | (sentiment["available_at"] > cutoff)
    sentiment.loc[late, "value"] = rng.uniform(-1.0, 1.0, late.sum())
    return RawMarket(
        securities=raw.securities, prices=prices, macro=macro, fundamentals=fund, sentiment=sentiment,
        events=raw.events,
    )  # fmt: skip


def test_dimensions_and_names(built):
    a, s = built["arrays"], built["summary"]
    T, N, S = a.n_dates, a.n_stocks, a.n_sectors
    assert (N, S) == (12, 3) and T == 160 - 30 == s.n_dates
    assert a.stock_features.shape == (T, N, 22) and a.stock_feature_names == STOCK_FEATURES
    assert a.macro.shape == (T, 17) and a.macro_names == MACRO_FEATURES
    assert a.sector_returns.shape == a.sector_returns_cap.shape == (T, S)
    assert a.forward_returns.shape == a.tradable.shape == a.close.shape == (T, N)
    assert np.isfinite(a.stock_features).all() and np.isfinite(a.macro).all()
    assert list(a.sectors) == ["Auto", "Energy", "IT"] and list(a.symbols) == sorted(a.symbols)
    assert s.rows["stock_features"] == T * N and s.benchmark_source == "index"


def test_rebuild_is_skipped(built):
    with wh.open_warehouse(built["path"]) as con:
        again = build_features(con, built["cfg"])
        count = wh.fetch_one(con, "SELECT count(*) FROM stock_features")[0]
    assert again.skipped and again.build_id == built["summary"].build_id
    assert count == built["summary"].rows["stock_features"]


def test_listing_and_delisting_masks(built):
    a, raw = built["arrays"], built["raw"]
    sec = raw.securities.set_index("symbol")
    late, gone = a.symbols[1], a.symbols[2]
    listed_on, delisted_on = sec.loc[late, "listed_on"], sec.loc[gone, "delisted_on"]
    dates = a.dates.astype("datetime64[ns]")
    assert not a.tradable[dates < listed_on.to_datetime64(), 1].any()
    assert a.tradable[dates >= listed_on.to_datetime64(), 1].all()
    assert not a.tradable[dates > delisted_on.to_datetime64(), 2].any()
    assert np.isnan(a.close[~a.tradable]).all()
    halted = ~a.tradable[:, 3]
    assert halted.sum() == 2 and (a.stock_returns[halted, 3] == 0).all()


def test_stock_features_match_pandas_reference(built):
    """RSI, MACD, Bollinger %B, volatility and returns from the build equal per-symbol pandas to 1e-9."""
    a, raw = built["arrays"], built["raw"]
    close = raw.prices.pivot(index="date", columns="symbol", values="close")
    rows = np.searchsorted(close.index.values.astype("datetime64[D]"), a.dates)
    names = list(a.stock_feature_names)
    for symbol in ("AUT0", "ENE2", "IT3"):  # listed throughout, no halt
        s = close[symbol]
        ret = s.pct_change()
        reference = {
            "return_1d": ret,
            "return_5d": s.pct_change(5),
            "return_20d": s.pct_change(20),
            "volatility_20d": ret.rolling(20).std() * np.sqrt(252),
            "rsi_14": pandas_rsi(s),
            "macd_signal": pandas_macd(s) / s,
            "bb_position": pandas_bb(s),
        }
        n = list(a.symbols).index(symbol)
        for feature, series in reference.items():
            ours = a.stock_features[:, n, names.index(feature)]
            np.testing.assert_allclose(ours, series.to_numpy()[rows], rtol=0, atol=1e-9, err_msg=feature)


def test_sector_returns_are_aggregated_per_symbol(built):
    a, raw = built["arrays"], built["raw"]
    close = raw.prices.pivot(index="date", columns="symbol", values="close")
    ret = close.ffill().pct_change(fill_method=None).where(close.notna())  # a return after a halt spans it
    rows = np.searchsorted(close.index.values.astype("datetime64[D]"), a.dates)
    for s, sector in enumerate(a.sectors):
        members = [sym for sym, k in zip(a.symbols, a.stock_sector, strict=True) if k == s]
        expected = ret[members].mean(axis=1).to_numpy()[rows]
        np.testing.assert_allclose(a.sector_returns[:, s], np.nan_to_num(expected), atol=1e-12, err_msg=sector)
    # cap weights: market cap at t-1 from close * shares_outstanding (known then)
    assert not np.allclose(a.sector_returns, a.sector_returns_cap)
    assert np.abs(a.sector_returns_cap).max() < 0.2


def test_regime_labels_follow_thresholds(built):
    a, raw, cfg = built["arrays"], built["raw"], built["cfg"]
    level = raw.prices[raw.prices["symbol"] == "NIFTY50"].set_index("date")["close"]
    for t in (5, 40, 90):
        date = pd.Timestamp(a.dates[t])
        base = level[level.index <= date - pd.Timedelta(days=7)].iloc[-1]
        weekly = level[date] / base - 1
        expected = (
            0
            if weekly > cfg.features.regime_bull_threshold
            else 1
            if weekly < cfg.features.regime_bear_threshold
            else 2
        )
        assert a.regime_labels[t] == expected
    ends = a.dates[a.week_end_index]
    iso = pd.DatetimeIndex(ends).isocalendar()
    assert (np.diff(iso["week"].to_numpy()) != 0).all()
    assert a.week_end_index[-1] == a.n_dates - 1


def test_forward_returns_are_labels_h_ahead(built):
    a, cfg = built["arrays"], built["cfg"]
    h = cfg.features.forward_horizon_days
    n = 0
    expected = a.close[h:, n] / a.close[:-h, n] - 1
    np.testing.assert_allclose(a.forward_returns[:-h, n], expected, atol=1e-12)
    assert np.isnan(a.forward_returns[-h:]).all()


@pytest.mark.parametrize("cut", [45, 90, 125])
def test_lookahead_garbage_after_t_changes_nothing_at_or_before_t(built, tmp_path, cut):
    raw, clean = built["raw"], built["arrays"]
    cutoff = pd.Timestamp(clean.dates[cut])
    _, dirty, _ = build_and_load(tmp_path / "dirty.duckdb", garbage_after(raw, cutoff, seed=cut))
    assert dirty.build_id != clean.build_id
    upto = slice(0, cut + 1)
    for name in ("stock_features", "macro", "close", "open", "stock_returns", "sector_returns",
                 "sector_returns_cap", "benchmark_returns", "regime_labels", "tradable",
                 "sector_features"):  # fmt: skip
        np.testing.assert_allclose(
            getattr(dirty, name)[upto].astype(float), getattr(clean, name)[upto].astype(float), rtol=0, atol=1e-12,
            err_msg=name,
        )  # fmt: skip
    adv_clean, adv_dirty = clean.adv_value[upto], dirty.adv_value[upto]
    np.testing.assert_allclose(adv_dirty, adv_clean, rtol=1e-12, equal_nan=True)
    # the garbage is visible after t, so the comparison is not vacuous
    assert not np.allclose(dirty.stock_features[cut + 1 :], clean.stock_features[cut + 1 :])
    assert not np.allclose(dirty.sector_features[cut + 1 :], clean.sector_features[cut + 1 :])


def test_fundamental_is_invisible_before_available_at(tmp_path):
    raw = make_market(churn=False)
    dates = pd.DatetimeIndex(sorted(raw.prices["date"].unique()))
    k = 100
    release = pd.DataFrame(
        {"symbol": ["AUT0"], "period_end": [dates[-1] - pd.Timedelta(days=1)], "field": ["roe"], "value": [99.0],
         "available_at": [dates[k]]}
    )  # fmt: skip
    raw.fundamentals = pd.concat([raw.fundamentals, release], ignore_index=True)
    _, a, cfg = build_and_load(tmp_path / "wh.duckdb", raw)
    roe = a.stock_features[:, list(a.symbols).index("AUT0"), a.stock_feature_names.index("roe")]
    row = k - cfg.features.warmup_days
    assert a.dates[row] == dates[k].to_datetime64().astype("datetime64[D]")
    assert (roe[:row] != 99.0).all() and (roe[row:] == 99.0).all()


def test_macro_publication_lag_from_config(tmp_path):
    raw = make_market()
    _, a, _ = build_and_load(tmp_path / "wh.duckdb", raw, **{"features.macro_publication_lag_days": {"repo_rate": 10}})
    repo = raw.macro[raw.macro["series"] == "repo_rate"].set_index("date")
    col = a.macro_names.index("rbi_rate")
    for t in (10, 50, 100):
        date = pd.Timestamp(a.dates[t])
        known = repo[(repo.index + pd.Timedelta(days=10) <= date) & (repo["available_at"] <= date)]
        assert a.macro[t, col] == known["value"].iloc[-1]


def test_close_only_files_dataset_uses_neutral_fill(tmp_path):
    raw = make_market(sectors=("Banks", "Tech"), per_sector=3, close_only=True, macro=False, fundamentals=False,
                      churn=False)  # fmt: skip
    raw.events = raw.events.iloc[0:0]
    summary, a, _ = build_and_load(tmp_path / "wh.duckdb", raw)
    assert a.n_sectors == 2 and a.sector_returns.shape[1] == 2
    report = json.loads(Path(summary.coverage_path).read_text())
    stock, macro = report["stock_features"], report["macro_features"]
    for name in ("pe_zscore", "roe", "earnings_surprise", "volume_ratio_20d", "delivery_pct", "market_cap_log"):
        assert stock[name]["status"] == "neutral", name
    for name in ("india_vix", "fii_flow_norm", "rbi_rate", "event_risk_flag"):
        assert macro[name]["status"] == "neutral" and macro[name]["missing_sources"], name
    assert stock["rsi_14"]["status"] == "data" and macro["nifty_return_4w"]["status"] == "data"
    assert "derived_from" in macro["breadth_advance_decline"]
    assert any("no volume" in note for note in report["notes"])
    names = list(a.stock_feature_names)
    assert (a.stock_features[:, :, names.index("pe_zscore")] == 0).all()
    assert (a.stock_features[:, :, names.index("volume_ratio_20d")] == 1).all()
    np.testing.assert_allclose(a.sector_returns, a.sector_returns_cap, atol=1e-12)  # no caps: equal weights
    assert (a.macro[:, a.macro_names.index("days_to_next_event")] == 90).all()


def test_missing_benchmark_builds_equal_weighted_index(tmp_path):
    raw = make_market(sectors=("A", "B", "C", "D", "E"), per_sector=2, benchmark=None, churn=False)
    summary, a, _ = build_and_load(tmp_path / "wh.duckdb", raw)
    assert summary.benchmark_source == "equal_weighted_stocks" and a.n_sectors == 5
    report = json.loads(Path(summary.coverage_path).read_text())
    assert report["benchmark"]["source"] == "equal_weighted_stocks"
    assert "benchmark: no index row in the data: equal-weighted stocks (add an index row)" in report["notes"]
    close = raw.prices.pivot(index="date", columns="symbol", values="close")
    ret = close.ffill().pct_change(fill_method=None).where(close.notna())  # a return after a halt spans it
    expected = ret.mean(axis=1).to_numpy()[-a.n_dates :]
    np.testing.assert_allclose(a.benchmark_returns, expected, atol=1e-12)


def test_build_needs_more_dates_than_warmup(tmp_path):
    from hrl_sarp.errors import WarehouseStateError

    load_market(tmp_path / "wh.duckdb", make_market(days=25))
    cfg = feature_config(tmp_path / "wh.duckdb")
    with wh.open_warehouse(tmp_path / "wh.duckdb") as con, pytest.raises(WarehouseStateError, match="warmup_days"):
        build_features(con, cfg)


def test_files_source_close_only_through_ingestion(tmp_path, files_folder):
    """A files folder (close-only prices, 2 sectors, no macro or fundamentals) ingested the normal way builds."""
    ingest = pytest.importorskip("hrl_sarp.ingest")
    folder = files_folder(stocks=3, days=80, sectors=("Banks", "Cement"))
    path = tmp_path / "files.duckdb"
    cfg = feature_config(path, **{"data.source": "files", "data.path": str(folder)})
    ingest.ingest(cfg, source="files", path=str(folder), progress=False)
    with wh.open_warehouse(path) as con:
        summary = build_features(con, cfg)
        a = load_feature_arrays(con)
    assert (a.n_stocks, a.n_sectors, a.n_dates) == (6, 2, 50) and summary.benchmark_source == "index"
    report = json.loads(Path(summary.coverage_path).read_text())
    assert report["stock_features"]["pe_zscore"]["status"] == "neutral"
    assert report["macro_features"]["india_vix"]["status"] == "neutral"
    assert set(report["missing_macro_series"]) >= {"india_vix", "fii_flow"}
    assert np.isfinite(a.stock_features).all() and a.tradable.all()


def sentiment_rows(dates: pd.DatetimeIndex, sector: str, rows: list[int], values: list[float],
                   known: list[int] | None = None) -> pd.DataFrame:  # fmt: skip
    """Sentiment observations of ``sector`` dated ``dates[rows]``, known at ``dates[known]`` (default: same day)."""
    known = rows if known is None else known
    return pd.DataFrame(
        {"sector": sector, "date": dates[rows], "value": values, "available_at": dates[known]}
    )  # fmt: skip


def test_sector_sentiment_is_a_point_in_time_trailing_mean(tmp_path):
    """sentiment_1w at t: the mean of the observations that became known over the last 5 sessions through t; an
    observation published late counts from its available_at; no observation in the window -> neutral 0."""
    from hrl_sarp.features.spec import SENTIMENT_WINDOW_DAYS

    raw = make_market(churn=False)
    dates = pd.DatetimeIndex(sorted(raw.prices["date"].unique()))
    sector = str(sorted(raw.securities.loc[raw.securities["kind"] == "stock", "sector"].unique())[0])
    w = 100  # a row after the warm-up
    raw.sentiment = pd.concat(
        [
            sentiment_rows(dates, sector, [w, w + 2], [0.4, -0.2]),
            sentiment_rows(dates, sector, [w + 20], [0.9], known=[w + 30]),  # published 10 sessions late
            sentiment_rows(dates, "Nowhere", [w, w + 1], [0.5, 0.5]),  # a sector with no stocks: reported
        ],
        ignore_index=True,
    )
    summary, a, cfg = build_and_load(tmp_path / "wh.duckdb", raw)
    assert a.sector_feature_names == ("sentiment_1w",)
    s = list(a.sectors).index(sector)
    value = a.sector_features[:, s, 0]
    r = w - cfg.features.warmup_days  # row of dates[w] in the build
    assert value[r - 1] == 0.0 and value[r] == pytest.approx(0.4) and value[r + 1] == pytest.approx(0.4)
    assert value[r + 2] == pytest.approx(0.1)  # mean of 0.4 and -0.2
    assert value[r + SENTIMENT_WINDOW_DAYS] == pytest.approx(-0.2)  # 0.4 left the window
    assert value[r + SENTIMENT_WINDOW_DAYS + 2] == 0.0  # nothing known in the window: neutral
    late = r + 20
    assert (value[late : late + 10] == 0.0).all() and value[late + 10] == pytest.approx(0.9)  # not before it was known
    others = np.delete(a.sector_features[..., 0], s, axis=1)
    assert (others == 0.0).all()
    report = json.loads(Path(summary.coverage_path).read_text())
    entry = report["sector_features"]["sentiment_1w"]
    assert entry["status"] == "partial" and 0.9 < entry["neutral_share"] < 1.0
    assert "sentiment rows of sectors without stocks in the build were left out: Nowhere (2)" in report["notes"]


def test_no_sentiment_is_neutral_and_reported(tmp_path):
    summary, a, _ = build_and_load(tmp_path / "wh.duckdb", make_market(churn=False))
    assert a.sector_features.shape == (a.n_dates, a.n_sectors, 1) and (a.sector_features == 0.0).all()
    report = json.loads(Path(summary.coverage_path).read_text())
    assert report["sector_features"]["sentiment_1w"]["status"] == "neutral"
    assert report["sector_features"]["sentiment_1w"]["missing_sources"] == ["sentiment"]
    assert any("no sector sentiment" in note for note in report["notes"])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_logged_per_stage_when_stderr_is_not_a_terminal(market_warehouse, monkeypatch, caplog):
    from hrl_sarp.features.build import BUILD_STAGES

    stderr = io.StringIO()  # redirected output: isatty() is False
    monkeypatch.setattr("sys.stderr", stderr)
    caplog.set_level(logging.INFO, logger="hrl_sarp")
    with wh.open_warehouse(market_warehouse) as con:
        summary = build_features(con, feature_config(market_warehouse), progress=True)
        again = build_features(con, feature_config(market_warehouse), progress=True)
    assert stderr.getvalue() == ""  # no bar frames in a log file
    lines = [r.getMessage() for r in caplog.records if r.name == "hrl_sarp.features.build"]
    stages = [
        f"features {i}/7 {stage}: {summary.stage_seconds[stage]:.2f} s" for i, stage in enumerate(BUILD_STAGES, 1)
    ]
    assert lines == [
        f"features: building {summary.build_id}",
        *stages,
        f"features: build {summary.build_id} is complete already, nothing to do",
    ]
    assert again.skipped and list(summary.stage_seconds) == list(BUILD_STAGES)


def test_progress_bar_on_a_terminal_replaces_the_stage_lines(market_warehouse, monkeypatch, caplog):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    caplog.set_level(logging.INFO, logger="hrl_sarp")
    with wh.open_warehouse(market_warehouse) as con:
        build_features(con, feature_config(market_warehouse), progress=True)
    assert "build-features" in terminal.getvalue()
    assert not [r for r in caplog.records if r.getMessage().startswith("features 1/7")]
