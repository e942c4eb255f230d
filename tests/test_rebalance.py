"""Weekly rebalance: the system's target for the latest date, orders against the holdings table, caps, warehouse."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.errors import HrlSarpError, WarehouseStateError
from tests.system_fixture import build_system, build_warehouse, fast_config


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("rebalance")
    cfg = fast_config(root)
    build_warehouse(cfg)
    folder = build_system(cfg, root / "system", seed=1, sb3=False)
    return cfg, folder


def _holdings(cfg, as_of: str, weights: dict[str, float]) -> None:
    frame = pd.DataFrame(
        {"as_of": pd.Timestamp(as_of).date(), "symbol": list(weights), "weight": list(weights.values())}
    )
    with wh.open_warehouse(cfg.warehouse_path()) as con, wh.transaction(con):
        wh.upsert(con, "holdings", frame, key=["as_of", "symbol"])


def test_proposal_for_latest_date_sums_to_one_and_respects_caps(setup):
    from hrl_sarp.domain import CASH
    from hrl_sarp.rebalance import propose
    from hrl_sarp.system import TrainedSystem, load_system_inputs

    cfg, folder = setup
    system = TrainedSystem(folder)
    arrays, embeddings, _ = load_system_inputs(cfg.warehouse_path())
    latest = str(arrays.dates[-1])
    symbols = [str(s) for s in arrays.symbols]
    _holdings(cfg, "2021-12-01", {symbols[0]: 0.3, symbols[1]: 0.2, "DELISTED": 0.1, CASH: 0.4})
    _holdings(cfg, "2099-01-01", {symbols[2]: 1.0})  # after the decision date: ignored

    proposal = propose(cfg, system, "7")
    frame = proposal.frame
    assert proposal.as_of == latest
    assert frame["as_of"].astype(str).unique().tolist() == [latest]
    assert frame["target_weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert frame["current_weight"].sum() == pytest.approx(1.0, abs=1e-12)
    stocks = frame[frame["symbol"] != CASH].set_index("symbol")
    target = system.target_weights(arrays, embeddings, arrays.n_dates - 1)
    expected = pd.Series(target, index=symbols)
    np.testing.assert_allclose(stocks["target_weight"].reindex(symbols).fillna(0.0), expected, atol=1e-12)
    # caps: stock, sector, minimum cash
    risk = cfg.risk
    assert (stocks["target_weight"] >= 0).all() and stocks["target_weight"].max() <= risk.stock_cap + 1e-9
    sector_of = dict(zip(symbols, np.asarray(arrays.sectors)[arrays.stock_sector], strict=True))
    by_sector = stocks["target_weight"].drop("DELISTED").groupby(lambda s: sector_of[s]).sum()
    assert by_sector.max() <= risk.sector_cap + 1e-9
    cash = frame.loc[frame["symbol"] == CASH, "target_weight"].iloc[0]
    assert cash >= risk.min_cash - 1e-12
    # orders against the holdings of 2021-12-01: a name outside the build is sold to zero
    assert stocks.loc["DELISTED", "target_weight"] == 0.0 and stocks.loc["DELISTED", "order_side"] == "sell"
    assert stocks.loc[symbols[0], "current_weight"] == pytest.approx(0.3)
    np.testing.assert_allclose(frame["order_weight"], frame["target_weight"] - frame["current_weight"], atol=1e-15)
    sides = np.where(frame["order_weight"] > 1e-9, "buy", np.where(frame["order_weight"] < -1e-9, "sell", "hold"))
    assert (frame["order_side"] == sides).all()
    summary = proposal.summary()
    assert summary["cash"] == pytest.approx(cash, abs=1e-6) and summary["checks"]["holdings_as_of"] == "2021-12-01"

    with wh.open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        stored = con.execute("SELECT * FROM rebalance_proposals WHERE proposal_id = ?", [proposal.proposal_id]).df()
    assert len(stored) == len(frame) and set(stored["model_version"]) == {"7"}
    assert stored["target_weight"].sum() == pytest.approx(1.0, abs=1e-12)
    again = propose(cfg, system, "7")  # idempotent: same id, no new rows
    assert again.proposal_id == proposal.proposal_id
    with wh.open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        assert wh.fetch_one(con, "SELECT count(*) FROM rebalance_proposals")[0] == len(frame)


def test_tighter_run_caps_are_enforced(setup):
    from hrl_sarp.domain import CASH
    from hrl_sarp.rebalance import propose
    from hrl_sarp.system import TrainedSystem

    cfg, folder = setup
    tight = cfg.model_copy(update={"risk": cfg.risk.model_copy(update={"stock_cap": 0.03, "min_cash": 0.1})})
    frame = propose(tight, TrainedSystem(folder), "7", write=False).frame
    stocks = frame[frame["symbol"] != CASH]
    assert stocks["target_weight"].max() <= 0.03 + 1e-9
    assert frame.loc[frame["symbol"] == CASH, "target_weight"].iloc[0] >= 0.1 - 1e-12
    assert frame["target_weight"].sum() == pytest.approx(1.0, abs=1e-12)


def test_check_caps_names_the_broken_rule():
    from hrl_sarp.config import RiskConfig
    from hrl_sarp.rebalance import check_caps

    risk = RiskConfig()
    ok = check_caps(np.array([0.1, 0.1, 0.08]), np.array([0, 1, 2]), 3, risk)
    assert ok["cash"] == pytest.approx(0.72)
    with pytest.raises(HrlSarpError, match="stock weight"):
        check_caps(np.array([0.2, 0.1]), np.array([0, 1]), 2, risk)
    with pytest.raises(HrlSarpError, match="sector weight"):
        check_caps(np.array([0.1] * 4), np.array([0, 0, 0, 0]), 1, risk)
    with pytest.raises(HrlSarpError, match="cash"):
        check_caps(np.array([0.1] * 10), np.arange(10) % 3, 3, risk)


def test_rebalance_without_a_champion_says_to_train(setup, tmp_path, monkeypatch):
    from hrl_sarp.rebalance import rebalance

    cfg, _ = setup
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    cfg = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={"artifact_dir": str(tmp_path / "a")})})
    with pytest.raises(WarehouseStateError, match="hrl-sarp train") as info:
        rebalance(cfg)
    assert "\n" not in str(info.value)
    assert os.environ["MLFLOW_TRACKING_URI"].endswith("empty.db")
