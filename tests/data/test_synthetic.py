"""The synthetic market: layout, realism, planted signals and the ground truth they are read against."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml

from hrl_sarp.config import CONFIG_DIR, SyntheticConfig
from hrl_sarp.data.synthetic import (
    BEAR,
    BULL,
    MACRO_LAG_DAYS,
    MACRO_SIGNALS,
    SIDEWAYS,
    generate_market,
    oracle_information_ratio,
    weekly_index_returns,
)
from hrl_sarp.data.synthetic_calendar import indian_market_holidays, trading_days
from hrl_sarp.domain import FUNDAMENTAL_FIELDS, MACRO_SERIES, TABLE_COLUMNS
from hrl_sarp.errors import ConfigError

SMALL = SyntheticConfig(sectors=["Alpha", "Beta", "Gamma"], stocks_per_sector=2, start="2018-01-01", end="2020-12-31")


@pytest.fixture(scope="module")
def demo():
    return generate_market(SyntheticConfig())


@pytest.fixture(scope="module")
def closes(demo):
    return demo.raw.prices.pivot(index="date", columns="symbol", values="close")


@pytest.fixture(scope="module")
def log_returns(closes):
    return np.log(closes).diff().iloc[1:]


def _spells(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bounds = np.flatnonzero(np.diff(np.r_[-1, path, -1]) != 0)
    return np.diff(bounds), path[bounds[:-1]]


# ------------------------------------------------------------------------------------------------------ layout


def test_tables_follow_the_raw_market_layout(demo):
    for name, frame in demo.raw.tables().items():
        assert list(frame.columns) == TABLE_COLUMNS[name], name
        assert len(frame) > 0, name
        for col in ("date", "period_end", "available_at", "listed_on", "delisted_on"):
            if col in frame.columns:
                assert frame[col].dtype == np.dtype("datetime64[ns]"), (name, col)
    for name in ("prices", "macro", "fundamentals", "sentiment", "events"):
        assert not demo.raw.tables()[name].isna().any().any(), name


def test_natural_keys_are_unique(demo):
    from hrl_sarp.domain import TABLE_KEYS

    for name, frame in demo.raw.tables().items():
        assert not frame.duplicated(TABLE_KEYS[name]).any(), name


def test_securities_have_stocks_benchmark_and_sector_indices(demo):
    sec = demo.raw.securities
    cfg = SyntheticConfig()
    stocks = sec[sec["kind"] == "stock"]
    assert len(stocks) == len(cfg.sectors) * cfg.stocks_per_sector
    assert sorted(stocks["sector"].unique()) == sorted(cfg.sectors)
    assert "IT01" in set(stocks["symbol"])
    indices = sec[sec["kind"] == "index"].set_index("symbol")
    assert indices.loc["NIFTY50", "sector"] == "MARKET"
    for sector in cfg.sectors:
        assert indices.loc[f"NIFTY_{sector.upper()}", "sector"] == sector
    assert len(indices) == len(cfg.sectors) + 1
    assert list(demo.truth.symbols) == sorted(stocks["symbol"])
    assert list(demo.truth.sectors) == sorted(cfg.sectors)


def test_calendar_is_business_days_without_indian_holidays(demo):
    days = demo.truth.dates
    assert np.all(np.diff(days) > np.timedelta64(0, "D"))
    assert np.is_busday(days).all()
    for year in range(2015, 2025):
        for month, day in ((1, 26), (8, 15), (10, 2), (12, 25)):
            assert np.datetime64(dt.date(year, month, day)) not in set(days)
    holidays_2019 = indian_market_holidays(2019)
    assert len(holidays_2019) >= 10
    assert dt.date(2019, 4, 19) in holidays_2019  # Good Friday
    assert 240 <= len(trading_days(dt.date(2019, 1, 1), dt.date(2019, 12, 31))) <= 252
    price_days = demo.raw.prices.loc[demo.raw.prices["symbol"] == "NIFTY50", "date"].to_numpy()
    assert np.array_equal(price_days.astype("datetime64[D]"), days)


def test_listing_windows_are_exercised_and_respected(demo):
    sec = demo.raw.securities.set_index("symbol")
    late = sec.index[sec["listed_on"].notna()]
    gone = sec.index[sec["delisted_on"].notna()]
    assert len(late) >= 1 and len(gone) >= 1
    first_last = demo.raw.prices.groupby("symbol")["date"].agg(["min", "max"])
    for symbol in late:
        assert first_last.loc[symbol, "min"] == sec.loc[symbol, "listed_on"]
    for symbol in gone:
        assert first_last.loc[symbol, "max"] == sec.loc[symbol, "delisted_on"]
    rows_per_symbol = demo.raw.prices.groupby("symbol").size()
    listed = demo.truth.listed
    for i, symbol in enumerate(demo.truth.symbols):
        assert rows_per_symbol[symbol] == listed[:, i].sum()
    assert not listed.all()


# ------------------------------------------------------------------------------------------------------ prices


def test_prices_are_positive_and_ohlc_consistent(demo):
    p = demo.raw.prices
    assert (p[["open", "high", "low", "close", "adj_close"]] > 0).all().all()
    assert (p["low"] <= p[["open", "close"]].min(axis=1)).all()
    assert (p["high"] >= p[["open", "close"]].max(axis=1)).all()
    assert (p["volume"] > 0).all()
    assert ((p["delivery_pct"] > 0) & (p["delivery_pct"] < 100)).all()
    stocks = p[p["symbol"].isin(demo.truth.symbols)]
    traded_crore = (stocks["close"] * stocks["volume"] / 1e7).groupby(stocks["symbol"]).median()
    assert 1.0 < traded_crore.median() < 5000.0  # median daily traded value, INR crore


def test_sector_index_volatility_is_realistic(closes, log_returns, demo):
    vols = {s: log_returns[f"NIFTY_{s.upper()}"].std() * np.sqrt(252) for s in demo.truth.sectors}
    assert all(0.12 <= v <= 0.45 for v in vols.values()), vols
    assert 0.12 <= log_returns["NIFTY50"].std() * np.sqrt(252) <= 0.30


def test_stock_returns_are_fat_tailed(log_returns, demo):
    kurt = log_returns[list(demo.truth.symbols)].kurt()
    assert kurt.median() > 1.0, kurt.describe()


def test_within_sector_correlation_exceeds_cross_sector(log_returns, demo):
    corr = log_returns[list(demo.truth.symbols)].corr().to_numpy()
    sec = demo.truth.stock_sector
    same = sec[:, None] == sec[None, :]
    off = ~np.eye(len(sec), dtype=bool)
    within, cross = np.nanmean(corr[same & off]), np.nanmean(corr[~same])
    assert within > cross + 0.05, (within, cross)


def test_indices_are_cap_weighted_averages_of_constituents(closes, demo):
    simple = closes.pct_change().iloc[1:]
    for k, sector in enumerate(demo.truth.sectors):
        members = list(demo.truth.symbols[demo.truth.stock_sector == k])
        lo = simple[members].min(axis=1) - 1e-12
        hi = simple[members].max(axis=1) + 1e-12
        index = simple[f"NIFTY_{sector.upper()}"]
        assert ((index >= lo) & (index <= hi)).all(), sector


# ------------------------------------------------------------------------------------------------------ regimes


def test_regime_spells_last_several_weeks(demo):
    truth = demo.truth
    spells, labels = _spells(truth.regime_weekly)
    assert 4.0 <= spells.mean() <= 20.0, spells.mean()
    assert set(np.unique(truth.regime_weekly)) == {BULL, BEAR, SIDEWAYS}
    assert np.array_equal(truth.regime_daily, truth.regime_weekly[truth.week_of])
    assert len(truth.week_end_index) == len(truth.regime_weekly)


def test_regimes_set_market_drift_and_volatility(log_returns, demo):
    bench = log_returns["NIFTY50"].to_numpy()
    regime = demo.truth.regime_daily[1:]
    mean = {r: bench[regime == r].mean() * 252 for r in (BULL, BEAR, SIDEWAYS)}
    vol = {r: bench[regime == r].std() * np.sqrt(252) for r in (BULL, BEAR, SIDEWAYS)}
    assert mean[BULL] > 0.08 and mean[BEAR] < -0.10 and mean[BULL] > mean[SIDEWAYS] > mean[BEAR]
    assert vol[BEAR] > 1.4 * vol[BULL]


def test_rising_vix_and_fii_outflows_raise_bear_odds():
    """Pooled over seeds: among non-Bear weeks, the top stress tercile (VIX up, FII out) enters Bear more often."""
    entered_high, entered_low = [], []
    for seed in (1, 2, 3):
        market = generate_market(SyntheticConfig(seed=seed, sectors=["A", "B"], stocks_per_sector=1))
        truth = market.truth
        macro = market.raw.macro.pivot(index="date", columns="series", values="value")
        ends = truth.week_end_index
        log_vix = np.log(macro["india_vix"].to_numpy())[ends]
        fii = macro["fii_flow"].rolling(5, min_periods=1).sum().shift(1).fillna(0.0).to_numpy()[ends]
        stress = np.r_[0.0, np.diff(log_vix)] / 0.15 - fii / 4000.0
        prev, nxt = truth.regime_weekly[:-1], truth.regime_weekly[1:]
        candidates = prev != BEAR
        lo, hi = np.quantile(stress[:-1][candidates], [1 / 3, 2 / 3])
        entered_high.append(nxt[candidates & (stress[:-1] >= hi)] == BEAR)
        entered_low.append(nxt[candidates & (stress[:-1] <= lo)] == BEAR)
    assert np.concatenate(entered_high).mean() > 2.0 * np.concatenate(entered_low).mean()


# ------------------------------------------------------------------------------------------------------ macro, events


def test_macro_series_are_complete_and_in_realistic_ranges(demo):
    macro = demo.raw.macro
    assert set(macro["series"]) == set(MACRO_SERIES)
    wide = macro.pivot(index="date", columns="series", values="value")
    ranges = {
        "india_vix": (10, 60),
        "usd_inr": (55, 95),
        "brent": (25, 135),
        "repo_rate": (4, 8),
        "yield_10y": (5.5, 8.5),
        "yield_2y": (3.0, 9.0),
        "credit_spread": (0.3, 3.5),
        "pcr": (0.5, 1.8),
        "fii_flow": (-20000, 20000),
        "dii_flow": (-20000, 20000),
        "fno_oi": (5e4, 2e6),
        "advances": (0, 2000),
        "declines": (0, 2000),
    }
    for name, (lo, hi) in ranges.items():
        assert wide[name].between(lo, hi).all(), (name, wide[name].min(), wide[name].max())
    assert wide["usd_inr"].iloc[-250:].mean() > wide["usd_inr"].iloc[:250].mean() + 5  # trending INR weakness
    assert wide["india_vix"].std() > 3 and wide["brent"].std() > 8
    assert ((wide["advances"] + wide["declines"]) <= 2000).all()


def test_macro_publication_lags(demo):
    macro = demo.raw.macro
    days = pd.DatetimeIndex(demo.truth.dates)
    for name in MACRO_SERIES:
        rows = macro[macro["series"] == name]
        lag = MACRO_LAG_DAYS.get(name, 0)
        assert (rows["available_at"] >= rows["date"]).all()
        inner = rows.iloc[: len(rows) - lag]
        assert np.array_equal(inner["available_at"].to_numpy(), days[lag:].to_numpy()), name
    assert MACRO_LAG_DAYS["fii_flow"] == 1


def test_events_calendar(demo):
    events = demo.raw.events
    budget = events[events["event"] == "BUDGET"]["date"]
    assert list(budget.dt.year) == list(range(2015, 2025))
    assert ((budget.dt.month == 2) & (budget.dt.day == 1)).all()
    mpc = events[events["event"] == "RBI_MPC"]["date"]
    assert 5 <= len(mpc) / 10 <= 7
    assert 40 <= mpc.diff().dt.days.median() <= 75
    repo = demo.raw.macro[demo.raw.macro["series"] == "repo_rate"].set_index("date")["value"]
    changes = repo.index[repo.diff().fillna(0) != 0]
    assert len(changes) > 0 and set(changes) <= set(mpc)


def test_sentiment_is_bounded_and_weakly_predictive(demo):
    sent = demo.raw.sentiment
    assert sent["value"].between(-1, 1).all()
    assert (sent["available_at"] == sent["date"]).all()
    wide = sent.pivot(index="date", columns="sector", values="value")
    truth = demo.truth
    next_drift = np.vstack([truth.sector_drift_weekly[1:], np.zeros((1, len(truth.sectors)))])[truth.week_of]
    corr = np.mean([np.corrcoef(wide[s], next_drift[:, k])[0, 1] for k, s in enumerate(truth.sectors)])
    assert 0.05 < corr < 0.5, corr


# ------------------------------------------------------------------------------------------------------ fundamentals


def test_fundamentals_are_released_after_period_end(demo):
    f = demo.raw.fundamentals
    cfg = SyntheticConfig()
    assert set(f["field"]) == set(FUNDAMENTAL_FIELDS)
    assert (f["available_at"] > f["period_end"]).all()
    lag = (f["available_at"] - f["period_end"]).dt.days
    assert lag.between(cfg.fundamentals_lag_days - 5, cfg.fundamentals_lag_days + 5).all()
    assert f["period_end"].dt.is_quarter_end.all()
    assert f["available_at"].max() <= pd.Timestamp(demo.truth.dates[-1])
    counts = f.groupby(["symbol", "period_end"]).size()
    assert (counts == len(FUNDAMENTAL_FIELDS)).all()
    # only quarters inside the listing window
    sec = demo.raw.securities.set_index("symbol")
    late = sec[sec["listed_on"].notna()]
    for symbol, row in late.iterrows():
        assert (f.loc[f["symbol"] == symbol, "period_end"] >= row["listed_on"]).all()


def test_cheapness_drives_pe_down(demo, closes):
    f = demo.raw.fundamentals
    eps = f[f["field"] == "eps"].set_index(["period_end", "symbol"])["value"]
    truth = demo.truth
    rows = []
    for (period_end, symbol), value in eps.items():
        t = np.searchsorted(truth.dates, np.datetime64(period_end, "D"), side="right") - 1
        i = np.searchsorted(truth.symbols, symbol)
        pe = closes[symbol].iloc[t] / (4 * value)
        rows.append((np.log(pe), truth.value_latent[t, i]))
    log_pe, cheap = np.array(rows).T
    assert np.all(np.isfinite(log_pe))
    assert np.corrcoef(log_pe, cheap)[0, 1] < -0.3


# ------------------------------------------------------------------------------------------------------ ground truth


def test_planted_drift_comes_from_lagged_macro_loadings(demo):
    truth = demo.truth
    cfg = SyntheticConfig()
    assert np.allclose(truth.sector_drift_weekly, truth.macro_signals @ truth.sector_loadings.T)
    assert np.allclose(truth.sector_drift_weekly.sum(axis=1), 0.0)
    assert np.allclose(truth.sector_drift_daily, truth.sector_drift_weekly[truth.week_of])
    annual_spread = truth.sector_drift_weekly[1:].std(axis=0).mean() * 252
    assert annual_spread == pytest.approx(cfg.sector_drift_vol * cfg.signal_strength, rel=1e-6)
    sectors = list(truth.sectors)
    loadings = truth.sector_loadings
    crude, inr = MACRO_SIGNALS.index("crude_mom_20d"), MACRO_SIGNALS.index("usdinr_mom_20d")
    assert np.argmax(loadings[:, crude]) == sectors.index("Energy")
    assert np.argmax(loadings[:, inr]) == sectors.index("IT")


def test_macro_signals_use_only_published_data(demo):
    """Recompute two signals from the raw macro rows with available_at <= the previous week's last date."""
    truth = demo.truth
    macro = demo.raw.macro
    ends = truth.dates[truth.week_end_index[:-1]].astype("datetime64[ns]")

    def zscore(x):
        return (x - x.mean()) / x.std()

    brent = macro[macro["series"] == "brent"]
    values, known = brent["value"].to_numpy(), brent["available_at"].to_numpy()
    n_known = np.searchsorted(known, ends, side="right")
    crude = np.log(values[n_known - 1] / values[np.maximum(n_known - 1 - 20, 0)])
    assert np.allclose(zscore(crude), truth.macro_signals[1:, MACRO_SIGNALS.index("crude_mom_20d")])

    fii = macro[macro["series"] == "fii_flow"]
    values, known = fii["value"].to_numpy(), fii["available_at"].to_numpy()
    n_known = np.searchsorted(known, ends, side="right")
    cum = np.r_[0.0, np.cumsum(values)]
    flows = cum[n_known] - cum[np.maximum(n_known - 20, 0)]
    signal = truth.macro_signals[1:, MACRO_SIGNALS.index("fii_flow_20d")]
    assert np.corrcoef(flows, signal)[0, 1] > 0.999  # first week repeats the first value instead of zero-padding


def test_planted_drift_shows_up_in_realised_sector_returns(demo):
    sector_ret, bench_ret = weekly_index_returns(demo)
    excess = (sector_ret - sector_ret.mean(axis=1, keepdims=True))[1:].ravel()
    drift = demo.truth.sector_drift_weekly[1:].ravel()
    slope = np.polyfit(drift, excess, 1)[0]
    assert 3.0 < slope < 12.0, slope  # five sessions per week, plus defensive drifts meeting Bear weeks


def test_stock_alpha_is_momentum_plus_value(demo):
    truth = demo.truth
    expected = (truth.momentum_premium * truth.momentum_signal + truth.value_premium * truth.value_latent) / 252
    assert np.allclose(truth.stock_alpha_daily, expected)
    assert np.abs(truth.momentum_signal).max() <= 3.0
    assert 0.7 < truth.value_latent.std() < 1.3


def test_oracle_information_ratio_is_in_band(demo):
    weights = demo.truth.oracle_sector_weights()
    assert weights.shape == demo.truth.sector_drift_weekly.shape
    assert np.allclose(weights.sum(axis=1), 1.0)
    ir = oracle_information_ratio(demo)
    print(f"oracle IR (top {demo.truth.default_top_k()} sectors, seed 7): {ir:.2f}")
    assert 0.7 <= ir <= 2.5


def test_signal_strength_zero_plants_nothing():
    market = generate_market(SMALL.model_copy(update={"signal_strength": 0.0}))
    assert np.all(market.truth.sector_drift_weekly == 0.0)


# ------------------------------------------------------------------------------------------------------ config, size


def test_determinism_same_seed_same_frames_other_seed_differs():
    first, second = generate_market(SMALL), generate_market(SMALL)
    for name, frame in first.raw.tables().items():
        pd.testing.assert_frame_equal(frame, second.raw.tables()[name])
    assert np.array_equal(first.truth.regime_weekly, second.truth.regime_weekly)
    other = generate_market(SMALL.model_copy(update={"seed": SMALL.seed + 1}))
    assert not np.allclose(other.raw.prices["close"].to_numpy()[:100], first.raw.prices["close"].to_numpy()[:100])
    assert not other.raw.macro["value"].equals(first.raw.macro["value"])


def test_three_sectors_two_stocks():
    market = generate_market(SMALL)
    sec = market.raw.securities
    assert sorted(sec.loc[sec["kind"] == "stock", "symbol"]) == [
        "ALPHA01",
        "ALPHA02",
        "BETA01",
        "BETA02",
        "GAMMA01",
        "GAMMA02",
    ]
    assert set(sec.loc[sec["kind"] == "index", "symbol"]) == {"NIFTY50", "NIFTY_ALPHA", "NIFTY_BETA", "NIFTY_GAMMA"}
    assert market.truth.sector_drift_weekly.shape[1] == 3
    assert market.truth.oracle_sector_weights().shape[1] == 3
    assert not market.truth.listed.all()
    assert not market.raw.prices.isna().any().any()


def test_custom_benchmark_name_and_bad_sectors():
    market = generate_market(SMALL, benchmark="SENSEX")
    assert "SENSEX" in set(market.raw.prices["symbol"])
    with pytest.raises(ConfigError):
        generate_market(SMALL.model_copy(update={"sectors": ["IT", "it"]}))
    with pytest.raises(ConfigError):
        generate_market(SMALL.model_copy(update={"end": dt.date(2018, 3, 1)}))


def test_default_yaml_mirrors_synthetic_config():
    raw = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text())["data"]["synthetic"]
    assert set(raw) == set(SyntheticConfig.model_fields)
    assert SyntheticConfig.model_validate(raw) == SyntheticConfig()
