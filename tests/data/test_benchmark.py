"""Which index row is the benchmark (hrl_sarp.data.benchmark), and the feature build that uses the choice."""

from __future__ import annotations

import numpy as np

from hrl_sarp import warehouse as wh
from hrl_sarp.data.benchmark import choose_benchmark
from hrl_sarp.features.build import build_features
from tests.features.raw_market import feature_config, load_market, make_market

STOCK_SECTORS = {"IT", "Energy"}


def test_the_only_index_row_is_the_benchmark():
    choice = choose_benchmark(None, {"SP500": None}, STOCK_SECTORS)
    assert choice.symbol == "SP500" and choice.how == "index 'SP500' (the only index row in the data)"


def test_a_market_index_wins_over_sector_indices():
    indices = {"NIFTY50": "MARKET", "NIFTY_IT": "IT", "NIFTY_ENERGY": "Energy"}
    choice = choose_benchmark(None, indices, STOCK_SECTORS)
    assert choice.symbol == "NIFTY50" and "not a sector index" in choice.how


def test_two_market_indices_need_a_setting():
    choice = choose_benchmark(None, {"SP500": None, "NDX": None}, STOCK_SECTORS)
    assert choice.symbol is None
    assert (
        choice.how == "2 index rows (NDX, SP500) and data.benchmark unset: equal-weighted stocks (set "
        "data.benchmark to one of them)"
    )


def test_configured_name_wins_and_a_missing_one_is_named():
    assert choose_benchmark("NDX", {"SP500": None, "NDX": None}, STOCK_SECTORS).symbol == "NDX"
    missing = choose_benchmark("NIFTY50", {"SP500": None}, STOCK_SECTORS)
    assert missing.symbol is None and missing.how.startswith("data.benchmark 'NIFTY50' is not an index row")
    assert "SP500" in missing.how


def test_no_index_rows():
    assert choose_benchmark(None, {}, STOCK_SECTORS).symbol is None


def test_feature_build_takes_the_only_index_without_a_setting(tmp_path):
    raw = make_market(sectors=("IT", "Energy"), per_sector=2, days=90, benchmark="SP500", churn=False)
    securities = raw.securities.copy()
    securities.loc[securities["symbol"] == "SP500", "sector"] = None  # an index needs no sector
    raw.securities = securities
    path = tmp_path / "wh.duckdb"
    load_market(path, raw)
    cfg = feature_config(path, **{"data.benchmark": None})
    with wh.open_warehouse(path) as con:
        summary = build_features(con, cfg)
        level = con.execute(
            "SELECT level FROM benchmark_returns WHERE build_id = ? ORDER BY date", [summary.build_id]
        ).fetchnumpy()["level"]
        stored_sector = con.execute("SELECT sector FROM securities WHERE symbol = 'SP500'").fetchone()[0]
    assert summary.benchmark_source == "index"
    assert summary.benchmark == "index 'SP500' (the only index row in the data)"
    expected = raw.prices[raw.prices["symbol"] == "SP500"].sort_values("date")["close"].to_numpy()
    np.testing.assert_allclose(level, expected[-len(level) :], rtol=1e-12)
    assert stored_sector is None  # the index row is stored without a sector
