"""Loading a feature build into FeatureArrays: the default build, the tables' numbers, labels apart."""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.errors import WarehouseStateError
from hrl_sarp.features.build import build_features
from hrl_sarp.features.loader import forward_sector_returns, latest_build_id, load_feature_arrays
from tests.features.raw_market import feature_config


def test_latest_build_is_the_default(market_warehouse):
    first = feature_config(market_warehouse)
    second = feature_config(market_warehouse, **{"features.forward_horizon_days": 3})
    with wh.open_warehouse(market_warehouse) as con:
        a = build_features(con, first)
        b = build_features(con, second)
        assert a.build_id != b.build_id and a.snapshot == b.snapshot
        assert latest_build_id(con) == b.build_id
        arrays = load_feature_arrays(con)
        older = load_feature_arrays(con, a.build_id)
    assert arrays.build_id == b.build_id
    h = 3
    assert np.isnan(arrays.forward_returns[-h:]).all() and np.isfinite(arrays.forward_returns[-h - 1, 0])
    assert np.isnan(older.forward_returns[-5:]).all()
    np.testing.assert_array_equal(arrays.stock_features, older.stock_features)


def test_arrays_match_the_tables(market_warehouse):
    cfg = feature_config(market_warehouse)
    with wh.open_warehouse(market_warehouse) as con:
        build = build_features(con, cfg).build_id
        arrays = load_feature_arrays(con, build)
        row = con.execute(
            "SELECT f.rsi_14, p.close, l.forward_return FROM stock_features f "
            "JOIN stock_panel p USING (build_id, date, stock_index) "
            "JOIN stock_labels l USING (build_id, date, stock_index) "
            "JOIN feature_build_stocks s USING (build_id, stock_index) "
            "WHERE f.build_id = ? AND s.symbol = 'ENE1' AND f.date = DATE '2021-04-01'",
            [build],
        ).fetchall()[0]
        sector = con.execute(
            "SELECT cap_weighted FROM sector_returns WHERE build_id = ? AND sector = 'IT' AND date = DATE '2021-04-01'",
            [build],
        ).fetchall()[0][0]
    t = int(np.flatnonzero(arrays.dates == np.datetime64("2021-04-01"))[0])
    n = list(arrays.symbols).index("ENE1")
    assert arrays.stock_features[t, n, arrays.stock_feature_names.index("rsi_14")] == row[0]
    assert arrays.close[t, n] == row[1] and arrays.forward_returns[t, n] == row[2]
    assert arrays.sector_returns_cap[t, list(arrays.sectors).index("IT")] == sector
    member = arrays.sector_membership()
    assert member.shape == (3, 12) and (member.sum(axis=0) == 1).all()


def test_forward_sector_returns_compound_the_next_days(market_warehouse):
    with wh.open_warehouse(market_warehouse) as con:
        build_features(con, feature_config(market_warehouse))
        arrays = load_feature_arrays(con)
    label = forward_sector_returns(arrays, 5)
    t = 10
    expected = np.prod(1 + arrays.sector_returns[t + 1 : t + 6], axis=0) - 1
    np.testing.assert_allclose(label[t], expected, atol=1e-12)
    assert np.isnan(label[-5:]).all()


def test_no_build_is_a_clear_error(tmp_path):
    with (
        wh.open_warehouse(tmp_path / "wh.duckdb") as con,
        pytest.raises(WarehouseStateError, match="hrl-sarp features"),
    ):
        load_feature_arrays(con)
