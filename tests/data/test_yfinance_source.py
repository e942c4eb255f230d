"""yfinance normalisation on a recorded frame (no network), and fetch_yfinance's failure modes.

The fixture ``tests/fixtures/yfinance_download_group_by_ticker.csv`` is a constructed frame in the exact shape of
yfinance 1.x ``yf.download([...], group_by="ticker", auto_adjust=False)``: columns a (Ticker, Price)
MultiIndex with Price in Open/High/Low/Close/Adj Close/Volume, a tz-naive ``Date`` index that is the union of
all tickers' calendars (NSE shut on 2024-01-22 and 2024-01-26, so NSE tickers are NaN there while INR=X and
BZ=F trade), written with ``DataFrame.to_csv``.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hrl_sarp.data.validation import validate_market
from hrl_sarp.data.yfinance_source import (
    DEFAULT_SECTOR_MAP,
    fetch_yfinance,
    normalise_yfinance,
    split_download,
    symbol_of,
    yahoo_ticker,
)
from hrl_sarp.domain import TABLE_COLUMNS
from hrl_sarp.errors import HrlSarpError

FIXTURE = Path(__file__).parent.parent / "fixtures" / "yfinance_download_group_by_ticker.csv"
SECTORS = {"TCS.NS": "IT", "INFY.NS": "IT", "HDFCBANK.NS": "Financials"}
NSE_DAYS = pd.to_datetime(["2024-01-23", "2024-01-24", "2024-01-25", "2024-01-29", "2024-01-30"])


@pytest.fixture
def recorded() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, header=[0, 1], index_col=0, parse_dates=True)


def test_fixture_has_the_download_shape(recorded):
    assert recorded.columns.names == ["Ticker", "Price"]
    assert recorded.index.name == "Date"
    assert list(recorded["TCS.NS"].columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]


def test_normalise_download_frame(recorded):
    raw = normalise_yfinance(recorded, SECTORS)
    securities = raw.securities.set_index("symbol")
    assert list(raw.securities.columns) == TABLE_COLUMNS["securities"]
    assert sorted(securities.index) == ["HDFCBANK", "INFY", "NIFTY50", "TCS"]
    assert securities.loc["NIFTY50", "kind"] == "index" and securities.loc["NIFTY50", "name"] == "^NSEI"
    assert securities.loc["TCS", ["sector", "kind", "name"]].tolist() == ["IT", "stock", "TCS.NS"]
    assert securities.loc["HDFCBANK", "sector"] == "Financials"

    prices = raw.prices
    assert list(prices.columns) == TABLE_COLUMNS["prices"]
    assert len(prices) == 4 * 5  # NaN rows of the NSE holidays dropped
    tcs = prices[prices["symbol"] == "TCS"].set_index("date")
    assert list(tcs.index) == list(NSE_DAYS)
    assert tcs.loc["2024-01-23", "close"] == 3862.40
    assert tcs.loc["2024-01-23", "adj_close"] == pytest.approx(3862.40 * 0.985, abs=0.01)
    assert tcs["delivery_pct"].isna().all()

    macro = raw.macro
    assert list(macro.columns) == TABLE_COLUMNS["macro"]
    counts = macro.groupby("series").size().to_dict()
    assert counts == {"brent": 7, "india_vix": 5, "usd_inr": 7}
    vix = macro[macro["series"] == "india_vix"].set_index("date")
    assert vix.loc["2024-01-24", "value"] == 15.46
    assert (macro["available_at"] == macro["date"]).all()


def test_normalised_frame_passes_validation_without_rejections(recorded):
    valid, rejections = validate_market(normalise_yfinance(recorded, SECTORS), "yfinance")
    assert rejections == []
    assert len(valid.prices) == 20 and len(valid.macro) == 19 and len(valid.securities) == 4
    assert str(valid.prices["date"].dtype) == "datetime64[ns]"


def test_column_grouped_download_gives_the_same_result(recorded):
    by_column = recorded.swaplevel(0, 1, axis=1).sort_index(axis=1, level=0)
    by_column.columns.names = ["Price", "Ticker"]
    a = normalise_yfinance(recorded, SECTORS)
    b = normalise_yfinance(by_column, SECTORS)
    key = ["symbol", "date"]
    pd.testing.assert_frame_equal(
        a.prices.sort_values(key).reset_index(drop=True), b.prices.sort_values(key).reset_index(drop=True)
    )


def test_ticker_history_frames_with_time_zone_and_no_adj_close(recorded):
    """``Ticker.history`` (auto_adjust=True): tz-aware index, Dividends/Stock Splits columns, no Adj Close."""
    history = recorded["INFY.NS"].dropna().drop(columns=["Adj Close"])
    history.index = history.index.tz_localize("Asia/Kolkata")
    history["Dividends"] = 0.0
    history["Stock Splits"] = 0.0
    raw = normalise_yfinance({"INFY.NS": history}, {"INFY": "IT"})
    assert raw.securities["sector"].tolist() == ["IT"]
    assert list(raw.prices["date"]) == list(NSE_DAYS)
    np.testing.assert_array_equal(raw.prices["adj_close"], raw.prices["close"])
    assert raw.macro.empty and list(raw.macro.columns) == TABLE_COLUMNS["macro"]


def test_stock_missing_from_sector_map_is_rejected_by_validation_not_dropped(recorded):
    raw = normalise_yfinance(recorded, {"TCS.NS": "IT", "INFY.NS": "IT"})
    valid, rejections = validate_market(raw, "yfinance")
    messages = [r.message() for r in rejections]
    assert messages[0] == (
        "securities:3: column 'sector': missing sector (a stock needs one; only kind=index rows may leave it blank)"
    )
    assert messages[1:] == [
        f"prices:{i}: column 'symbol': symbol 'HDFCBANK' was rejected in securities" for i in range(11, 16)
    ]
    assert "HDFCBANK" not in set(valid.prices["symbol"])


def test_single_level_frame_is_refused(recorded):
    with pytest.raises(HrlSarpError, match="pass \\{ticker: frame\\}"):
        normalise_yfinance(recorded["TCS.NS"], SECTORS)


def test_ticker_helpers():
    assert symbol_of("TCS.NS") == "TCS" and symbol_of("RELIANCE.BO") == "RELIANCE" and symbol_of("^CNXIT") == "CNXIT"
    assert yahoo_ticker("TCS") == "TCS.NS" and yahoo_ticker("INR=X") == "INR=X" and yahoo_ticker("^NSEI") == "^NSEI"
    assert len(set(DEFAULT_SECTOR_MAP.values())) == 11
    assert all(t.endswith(".NS") for t in DEFAULT_SECTOR_MAP)


def test_split_download_keeps_every_ticker(recorded):
    frames = split_download(recorded)
    assert list(frames) == ["TCS.NS", "INFY.NS", "HDFCBANK.NS", "^NSEI", "^INDIAVIX", "INR=X", "BZ=F"]


# ------------------------------------------------------------------------------------------------ fetch


def fake_yfinance(monkeypatch, download) -> None:
    module = types.ModuleType("yfinance")
    module.download = download
    monkeypatch.setitem(sys.modules, "yfinance", module)


def test_fetch_without_yfinance_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "yfinance", None)  # makes `import yfinance` raise ImportError
    with pytest.raises(HrlSarpError, match=r"pip install 'hrl-sarp\[yfinance\]'"):
        fetch_yfinance(["TCS"], "2024-01-01", "2024-01-31", {"TCS": "IT"})


def test_fetch_network_failure_is_one_clear_error(monkeypatch):
    def download(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'query2.finance.yahoo.com'")

    fake_yfinance(monkeypatch, download)
    with pytest.raises(HrlSarpError) as info:
        fetch_yfinance(["TCS"], "2024-01-01", "2024-01-31", {"TCS": "IT"})
    assert str(info.value) == (
        "yfinance download failed (ConnectionError: Failed to resolve 'query2.finance.yahoo.com'); check the network"
    )


def test_fetch_empty_download_is_an_error(monkeypatch):
    fake_yfinance(monkeypatch, lambda *a, **k: pd.DataFrame())
    with pytest.raises(HrlSarpError, match="yfinance returned no data for 5 tickers"):
        fetch_yfinance(["TCS"], "2024-01-01", "2024-01-31", {"TCS": "IT"})


def test_fetch_requests_suffix_benchmark_macro_and_inclusive_end(monkeypatch, recorded):
    calls = {}

    def download(tickers, **kwargs):
        calls["tickers"], calls["kwargs"] = tickers, kwargs
        return recorded

    fake_yfinance(monkeypatch, download)
    raw = fetch_yfinance(
        ["TCS", "INFY.NS", "HDFCBANK"],
        "2024-01-22",
        "2024-01-30",
        {"TCS": "IT", "INFY": "IT", "HDFCBANK": "Financials"},
    )
    assert calls["tickers"] == ["TCS.NS", "INFY.NS", "HDFCBANK.NS", "^NSEI", "^INDIAVIX", "INR=X", "BZ=F"]
    assert calls["kwargs"]["end"] == "2024-01-31" and calls["kwargs"]["start"] == "2024-01-22"
    assert calls["kwargs"]["group_by"] == "ticker" and calls["kwargs"]["auto_adjust"] is False
    assert sorted(raw.securities["symbol"]) == ["HDFCBANK", "INFY", "NIFTY50", "TCS"]
    assert set(raw.securities.loc[raw.securities["kind"] == "stock", "sector"]) == {"IT", "Financials"}


def test_single_ticker_download_with_its_ticker_level(recorded):
    one = recorded[["TCS.NS"]].swaplevel(0, 1, axis=1)  # yf.download("TCS.NS"): (Price, Ticker) columns
    raw = normalise_yfinance({"TCS.NS": one}, SECTORS)
    assert list(raw.prices["date"]) == list(NSE_DAYS)
    assert raw.prices["close"].iloc[0] == 3862.40


def test_unnamed_column_levels_are_recognised(recorded):
    unnamed = recorded.copy()
    unnamed.columns.names = [None, None]
    assert list(split_download(unnamed))[:2] == ["TCS.NS", "INFY.NS"]
    unnamed = unnamed.swaplevel(0, 1, axis=1)
    assert set(split_download(unnamed)) == set(split_download(recorded))
