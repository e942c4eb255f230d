"""hrl_sarp.warehouse: migrations, upserts, snapshot hashes, the single-writer lock."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.domain import TABLE_COLUMNS
from hrl_sarp.errors import WarehouseLockedError, WarehouseStateError


def _prices(closes: dict[tuple[str, str], float]) -> pd.DataFrame:
    rows = [
        {"date": pd.Timestamp(day), "symbol": sym, "open": c, "high": c, "low": c, "close": c, "adj_close": c,
         "volume": None, "delivery_pct": None}
        for (sym, day), c in closes.items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=TABLE_COLUMNS["prices"]).astype({"volume": float, "delivery_pct": float})


BASE = {("AAA", "2024-01-01"): 10.0, ("AAA", "2024-01-02"): 11.0, ("BBB", "2024-01-01"): 20.0}


def test_migrations_apply_once(warehouse_path):
    con = wh.connect(warehouse_path)
    versions = [v for v, _ in wh.migration_files()]
    assert wh.migrate(con) == []  # connect already applied everything
    rows = con.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == versions
    con.close()
    con = wh.connect(warehouse_path)  # reopening applies nothing and duplicates nothing
    assert wh.fetch_one(con, "SELECT count(*) FROM schema_migrations")[0] == len(versions)
    assert all(wh.table_exists(con, t) for t in [*wh.RAW_TABLES, "ingestion_runs", "quarantine"])
    con.close()


def test_upsert_counts_new_and_changed_rows(warehouse_path):
    with wh.open_warehouse(warehouse_path) as con:
        with wh.transaction(con):
            assert wh.upsert(con, "prices", _prices(BASE)) == 3
        with wh.transaction(con):
            assert wh.upsert(con, "prices", _prices(BASE)) == 0
        changed = dict(BASE)
        changed[("AAA", "2024-01-02")] = 11.5
        changed[("CCC", "2024-01-01")] = 30.0
        with wh.transaction(con):
            assert wh.upsert(con, "prices", _prices(changed)) == 2
        rows = con.execute("SELECT symbol, date::VARCHAR, close, volume FROM prices ORDER BY symbol, date").fetchall()
    assert rows == [
        ("AAA", "2024-01-01", 10.0, None),
        ("AAA", "2024-01-02", 11.5, None),
        ("BBB", "2024-01-01", 20.0, None),
        ("CCC", "2024-01-01", 30.0, None),
    ]


def test_transaction_rolls_back_on_error(warehouse_path):
    with wh.open_warehouse(warehouse_path) as con:
        with pytest.raises(RuntimeError), wh.transaction(con):
            wh.upsert(con, "prices", _prices(BASE))
            raise RuntimeError("crash mid-load")
        assert wh.row_counts(con)["prices"] == 0


def test_snapshot_ignores_load_order_and_sees_changes(tmp_path):
    frame = _prices(BASE)
    hashes = []
    for name, order in [("a", frame), ("b", frame.iloc[::-1])]:
        with wh.open_warehouse(tmp_path / f"{name}.duckdb") as con:
            for _, row in order.iterrows():  # one row per statement: a different physical order
                wh.upsert(con, "prices", row.to_frame().T.astype(frame.dtypes.to_dict()))
            hashes.append(wh.snapshot_hash(con))
    assert hashes[0] == hashes[1]
    with wh.open_warehouse(tmp_path / "a.duckdb") as con:
        wh.execute(con, "UPDATE prices SET close = 10.01 WHERE symbol = 'AAA' AND date = '2024-01-01'")
        assert wh.latest_snapshot(con) != hashes[0]


def test_read_only_missing_warehouse_is_one_line(tmp_path):
    with pytest.raises(WarehouseStateError, match="does not exist yet") as info:
        wh.connect(tmp_path / "missing.duckdb", read_only=True)
    assert "\n" not in str(info.value)


def test_second_process_gets_locked_message(warehouse_path):
    wh.connect(warehouse_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
         str(warehouse_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError) as info:
            wh.connect(warehouse_path)
        message = str(info.value)
        assert "locked" in message and f"process {holder.pid}" in message and "\n" not in message
    finally:
        holder.kill()
        holder.wait()
