"""hrl_sarp.ingest: one-transaction, idempotent loads with quarantine and a run log."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hrl_sarp import ingest as ing
from hrl_sarp import warehouse as wh
from hrl_sarp.config import SyntheticConfig, load_config
from hrl_sarp.data.market import RawMarket, Rejection
from hrl_sarp.data.sources import filter_dates
from hrl_sarp.domain import TABLE_COLUMNS
from hrl_sarp.errors import NoValidDataError


def _cfg(warehouse_path, **overrides):
    return load_config("demo", overrides={"warehouse": str(warehouse_path), **overrides})


def _market(symbols=("AAA", "BBB"), days=10) -> RawMarket:
    """A clean batch in the warehouse layout: securities (+ index), close-only prices, one macro series."""
    dates = pd.bdate_range("2024-01-01", periods=days)
    securities = pd.DataFrame(
        {
            "symbol": [*symbols, "NIFTY50"],
            "sector": ["IT"] * len(symbols) + ["Index"],
            "name": None,
            "kind": ["stock"] * len(symbols) + ["index"],
            "listed_on": pd.NaT,
            "delisted_on": pd.NaT,
        }
    )
    prices = pd.concat(
        [
            pd.DataFrame({"date": dates, "symbol": sym, "close": 100.0 + k + np.arange(days)})
            for k, sym in enumerate([*symbols, "NIFTY50"])
        ],
        ignore_index=True,
    )
    for column in ("open", "high", "low", "adj_close"):
        prices[column] = prices["close"]
    prices["volume"] = np.nan
    prices["delivery_pct"] = np.nan
    macro = pd.DataFrame({"date": dates, "series": "india_vix", "value": 15.0, "available_at": dates})
    return RawMarket(
        securities=securities[TABLE_COLUMNS["securities"]],
        prices=prices[TABLE_COLUMNS["prices"]],
        macro=macro[TABLE_COLUMNS["macro"]],
    )


def _batch(market=None, rejections=()) -> ing.PreparedBatch:
    market = market or _market()
    rows_read = sum(market.row_counts().values()) + len(rejections)
    return ing.PreparedBatch("files", "/data", market, list(rejections), rows_read)


def _bad(row: int, reason: str = "close is not a number") -> Rejection:
    return Rejection("files", "prices", "prices/p.csv", row, "close", reason, {"date": "2024-01-01", "close": "x"})


def _runs(con):
    return con.execute("SELECT status, rows_loaded, snapshot FROM ingestion_runs ORDER BY started_at").fetchall()


def test_load_is_idempotent(warehouse_path):
    cfg = _cfg(warehouse_path)
    first = ing.load_batch(cfg, _batch(rejections=[_bad(3), _bad(4)]))
    second = ing.load_batch(cfg, _batch(rejections=[_bad(3), _bad(4)]))
    assert first.rows_loaded == 3 + 30 + 10 and first.loaded_by_table["prices"] == 30
    assert second.rows_loaded == 0
    assert second.snapshot == first.snapshot and second.table_counts == first.table_counts
    assert (first.rows_quarantined, second.rows_quarantined) == (2, 0)
    assert first.table_counts["prices"] == 30 and first.rows_rejected == 2
    assert first.rows_read == first.rows_valid + first.rows_rejected + first.duplicates_collapsed
    with wh.open_warehouse(warehouse_path) as con:
        assert wh.fetch_one(con, "SELECT count(*) FROM quarantine")[0] == 2
        assert _runs(con) == [("ok", 43, first.snapshot), ("ok", 0, first.snapshot)]
    assert json.loads(json.dumps(first.to_dict()))["run_id"] == first.run_id


def test_changed_rows_are_replaced_and_counted(warehouse_path):
    cfg = _cfg(warehouse_path)
    before = ing.load_batch(cfg, _batch())
    market = _market(symbols=("AAA", "BBB", "CCC"))
    market.prices.loc[0, "close"] = 1.5  # AAA's first close revised
    after = ing.load_batch(cfg, _batch(market))
    # CCC's 10 rows, AAA's revised close, and NIFTY50's 10 closes (its level follows its position in the list)
    assert after.loaded_by_table == {**dict.fromkeys(TABLE_COLUMNS, 0), "securities": 1, "prices": 21}
    assert after.snapshot != before.snapshot
    with wh.open_warehouse(warehouse_path) as con:
        assert wh.fetch_one(con, "SELECT close FROM prices WHERE symbol = 'AAA' ORDER BY date LIMIT 1")[0] == 1.5


def test_crash_mid_load_leaves_warehouse_unchanged(warehouse_path, monkeypatch):
    cfg = _cfg(warehouse_path)
    ing.load_batch(cfg, _batch())
    with wh.open_warehouse(warehouse_path) as con:
        counts, snapshot = wh.row_counts(con), wh.snapshot_hash(con)

    def crash(con, run_id, rejections):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ing, "_quarantine", crash)  # after every table was upserted
    with pytest.raises(RuntimeError, match="disk full"):
        ing.load_batch(cfg, _batch(_market(symbols=("AAA", "BBB", "CCC")), rejections=[_bad(1)]))
    with wh.open_warehouse(warehouse_path) as con:
        assert wh.row_counts(con) == counts and wh.snapshot_hash(con) == snapshot
        assert [r[0] for r in _runs(con)] == ["ok", "failed"]
    monkeypatch.undo()  # the re-run resumes: the same batch now loads in full
    rerun = ing.load_batch(cfg, _batch(_market(symbols=("AAA", "BBB", "CCC")), rejections=[_bad(1)]))
    assert rerun.table_counts["prices"] == 40 and rerun.rows_quarantined == 1


def test_nothing_valid_quarantines_and_raises_one_line(warehouse_path):
    cfg = _cfg(warehouse_path)
    market = _market()
    market.prices = market.prices.iloc[0:0]
    with pytest.raises(NoValidDataError) as info:
        ing.load_batch(cfg, _batch(market, rejections=[_bad(2), _bad(3, "close is negative")]))
    message = str(info.value)
    assert "\n" not in message and "no valid price rows" in message
    assert "prices/p.csv:2: column 'close': close is not a number" in message
    with wh.open_warehouse(warehouse_path) as con:
        assert sum(wh.row_counts(con).values()) == 0  # nothing loaded, not even the securities
        reasons = [r[0] for r in con.execute("SELECT reason FROM quarantine ORDER BY row_number").fetchall()]
        assert reasons == ["close is not a number", "close is negative"]
        assert [r[0] for r in _runs(con)] == ["failed"]


def test_duplicate_keys_keep_last_and_are_rejected():
    market = _market()
    extra = market.prices.iloc[[0]].assign(close=999.0)
    market.prices = pd.concat([market.prices, extra], ignore_index=True)
    clean, rejected = ing._reject_duplicate_keys(market, "files")
    assert len(clean.prices) == 30 and len(rejected) == 1
    first_day = clean.prices["symbol"].eq("AAA") & clean.prices["date"].eq(pd.Timestamp("2024-01-01"))
    assert clean.prices.loc[first_day, "close"].tolist() == [999.0]
    assert "duplicate key" in rejected[0].reason


def test_filter_dates_keeps_window_and_unparseable_rows():
    market = _market(days=10)
    market.prices = pd.concat(
        [market.prices.astype({"date": object}), pd.DataFrame({"date": ["not a date"], "symbol": ["AAA"]})],
        ignore_index=True,
    )
    out = filter_dates(market, pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-05"))
    assert len(out.prices) == 3 * 3 + 1
    assert len(out.macro) == 3 and len(out.securities) == 3


def test_quarantine_id_is_a_content_hash():
    assert ing.quarantine_id(_bad(3)) == ing.quarantine_id(_bad(3))
    assert ing.quarantine_id(_bad(3)) != ing.quarantine_id(_bad(4))
    assert ing.describe(Rejection("synthetic", "macro", None, None, "value", "is NaN")) == (
        "synthetic/macro: column 'value': is NaN"
    )


def test_synthetic_ingest_twice_is_identical(warehouse_path):
    small = SyntheticConfig(sectors=["IT", "Energy", "FMCG"], stocks_per_sector=2, start="2020-01-01", end="2021-12-31")
    cfg = _cfg(warehouse_path, **{"data.synthetic": small.model_dump()})
    first = ing.ingest(cfg, source="synthetic", progress=False)
    second = ing.ingest(cfg, source="synthetic", progress=False)
    assert first.rows_loaded == sum(first.table_counts.values()) > 0
    assert first.table_counts["prices"] >= 6 * 480
    assert first.rows_rejected == 0
    assert second.rows_loaded == 0 and second.rows_quarantined == 0
    assert second.table_counts == first.table_counts and second.snapshot == first.snapshot
    with wh.open_warehouse(warehouse_path) as con:
        assert wh.fetch_one(con, "SELECT count(DISTINCT sector) FROM securities WHERE kind = 'stock'")[0] == 3


def test_files_bad_rows_quarantined_good_rows_load(warehouse_path, files_folder):
    bad = [
        {"date": "2023-06-01", "symbol": "IT0", "close": "abc"},
        {"date": "2023-13-45", "symbol": "IT1", "close": 5.0},
    ]
    folder = files_folder(stocks=2, days=20, bad_prices=bad)
    cfg = _cfg(warehouse_path)
    summary = ing.ingest(cfg, source="files", path=folder, progress=False)
    assert summary.table_counts["securities"] == 5 and summary.table_counts["prices"] == 5 * 20
    assert summary.rows_read == 5 + 5 * 20 + 2
    assert summary.rows_rejected == 2 and summary.rows_quarantined == 2
    assert any("volume" in w for w in summary.warnings)  # close-only prices: liquidity filter off
    with wh.open_warehouse(warehouse_path) as con:
        rows = con.execute(
            "SELECT table_name, file, row_number, column_name, reason, payload FROM quarantine ORDER BY row_number"
        ).fetchall()
    assert [(t, f, r, c) for t, f, r, c, _, _ in rows] == [
        ("prices", "prices/prices.csv", 101, "close"),
        ("prices", "prices/prices.csv", 102, "date"),
    ]
    assert "abc" in rows[0][4] and json.loads(rows[0][5])["close"] == "abc"
    assert "2023-13-45" in rows[1][4]
    again = ing.ingest(cfg, source="files", path=folder, progress=False)
    assert again.rows_loaded == 0 and again.rows_quarantined == 0 and again.snapshot == summary.snapshot


def test_validate_reports_without_writing(warehouse_path, files_folder):
    folder = files_folder(bad_prices=[{"date": "2023-01-03", "symbol": "ZZZ", "close": -1.0}])
    report = ing.validation_report(ing.prepare(_cfg(warehouse_path), "files", folder, None, None))
    assert report["rows_rejected"] >= 1 and report["exit_code"] == 1
    assert report["valid_by_table"]["prices"] == 5 * 30
    assert not warehouse_path.exists()


def test_prices_for_symbols_already_in_the_warehouse_load(warehouse_path, files_folder):
    cfg = _cfg(warehouse_path)
    ing.ingest(cfg, source="files", path=files_folder(stocks=1, days=5, name="first"), progress=False)
    later = files_folder(stocks=1, days=5, sectors=("Pharma",), name="later")  # securities: PHA0 + NIFTY50 only
    extra = pd.DataFrame({"date": ["2023-02-01"], "symbol": ["IT0"], "close": [150.0]})  # IT0 known from before
    extra.to_csv(later / "prices" / "more.csv", index=False)
    summary = ing.ingest(cfg, source="files", path=later, progress=False)
    assert summary.rows_rejected == 0 and summary.loaded_by_table["prices"] >= 1
    with wh.open_warehouse(warehouse_path) as con:
        assert wh.fetch_one(con, "SELECT close FROM prices WHERE symbol = 'IT0' AND date = '2023-02-01'") == (150.0,)
