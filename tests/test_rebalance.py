"""Weekly rebalance: the system's target for the latest date, orders against the holdings table or a holdings file
(shares, lots, notional, cash line), caps, staleness, the warehouse, the orders CSV and its MLflow artifact."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.errors import HrlSarpError, InputError, WarehouseStateError
from tests.system_fixture import build_system, build_warehouse, fast_config, write_config_file

HOLDINGS = Path(__file__).parent / "fixtures" / "holdings.csv"  # symbols of the test warehouse; ENERGY02 delisted
NAV = 10_000_000


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
    moves = frame["order_weight"].to_numpy()
    sides = np.where(moves > 1e-9, "buy", np.where(moves < -1e-9, "sell", "hold"))
    sides[frame["symbol"] == CASH] = "cash"  # cash is what the orders leave, never a buy or a sell
    assert (frame["order_side"] == sides).all()
    summary = proposal.summary()
    assert (
        summary["cash"] == pytest.approx(cash, abs=1e-6) and summary["holdings"] == "holdings table, as of 2021-12-01"
    )
    assert summary["current_cash"] == pytest.approx(0.4) and None not in summary.values()
    assert proposal.orders is None  # no NAV: weights only

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


# ------------------------------------------------------------------------------------------- order arithmetic
def test_trade_shares_rounds_towards_less_stock_in_whole_lots():
    from hrl_sarp.rebalance import trade_shares

    price = np.array([100.0, 50.0, 10.0, 20.0, 8.0])
    held = np.array([0.0, 30.0, 7.0, 5.0, 3.0])
    weight = np.array([0.55, 0.1, 0.0, 0.2, 0.001])  # exact targets: 55, 20, 0, 100, 1.25 shares of NAV 10,000
    trade = trade_shares(price, held, weight, 10_000.0, lot_size=10)
    # buy 55 -> 50 (down to a lot); sell 10 (30 -> 20); full exit sells the odd lot 7; buy 95 -> 90; 3 -> 1.25:
    # a sell of 1.75 rounds up to one lot, capped at the 3 held
    np.testing.assert_array_equal(trade, [50.0, -10.0, -7.0, 90.0, -3.0])
    np.testing.assert_array_equal(trade_shares(price, held, weight, 10_000.0, lot_size=1), [55, -10, -7, 95, -2])


def test_trade_shares_lands_within_one_lot_below_every_target():
    from hrl_sarp.rebalance import orders_frame, trade_shares

    rng = np.random.default_rng(3)
    for lot in (1, 7, 100):
        price = rng.uniform(5.0, 3000.0, 40)
        held = np.floor(rng.uniform(0.0, 2000.0, 40)) * (rng.uniform(size=40) < 0.5)
        weight = rng.dirichlet(np.ones(40)) * 0.95 * (rng.uniform(size=40) < 0.8)
        nav = float((held * price).sum()) + 1e6
        trade = trade_shares(price, held, weight, nav, lot)
        exact, target = weight * nav / price, held + trade
        assert (target >= 0).all() and (exact - target > -1e-6).all() and (exact - target < lot).all()
        exits = weight == 0
        np.testing.assert_array_equal(target[exits], 0.0)
        lots = trade[target > 0] / lot  # whole lots, except a sell that empties the position (odd lot included)
        np.testing.assert_allclose(lots, np.round(lots), atol=1e-9)
        cash = nav - float((held * price).sum())
        frame = orders_frame(np.arange(40).astype(str), ["S"] * 40, price, ["2021-12-31"] * 40, held, weight, nav,
                             cash, lot)  # fmt: skip
        cash_line = frame.iloc[-1]
        assert cash_line["symbol"] == "cash" and cash_line["side"] == "cash"
        assert frame["target_value"].sum() == pytest.approx(nav, rel=1e-12)
        assert cash_line["target_value"] >= cash_line["target_weight"] * nav - 1e-6


def test_resolve_nav_fills_in_and_checks_the_missing_amount():
    from hrl_sarp.rebalance import resolve_nav

    assert resolve_nav(800.0, 200.0, None, "h.csv") == (1000.0, 200.0)
    assert resolve_nav(800.0, None, 1000.0, "h.csv") == (1000.0, 200.0)
    assert resolve_nav(800.0, 200.0, 1000.0, "h.csv") == (1000.0, 200.0)
    with pytest.raises(InputError, match=r"^h\.csv: the holdings are worth 800\.00 .* more than the NAV 500\.00"):
        resolve_nav(800.0, None, 500.0, "h.csv")
    with pytest.raises(InputError, match="disagrees with holdings 800.00 \\+ cash 100.00 = 900.00"):
        resolve_nav(800.0, 100.0, 1000.0, "h.csv")
    with pytest.raises(InputError, match="worth nothing"):
        resolve_nav(0.0, None, None, "h.csv")


def test_staleness_warning_names_the_dates_and_the_key():
    from hrl_sarp.rebalance import sessions_missed, staleness_warning

    friday, monday = dt.date(2024, 12, 27), dt.date(2024, 12, 30)
    assert sessions_missed(friday, monday) == 0  # the weekend is no session; Monday's close is not in yet
    assert sessions_missed(friday, dt.date(2025, 1, 6)) == 5 and sessions_missed(monday, friday) == 0
    assert staleness_warning(friday, dt.date(2025, 1, 1), 2) is None  # Monday and Tuesday missed
    warning = staleness_warning(dt.date(2024, 12, 31), dt.date(2026, 12, 1), 2)
    assert "2024-12-31, 499 sessions and 700 days before today (2026-12-01" in warning
    assert "rebalance.max_staleness_sessions 2" in warning


# --------------------------------------------------------------------------------------------- holdings files
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("symbol,shares\nIT01,10\nIT02,abc\n", "h.csv:2: column 'shares': shares is not a number: 'abc'"),
        ("symbol,shares\nIT01,10\n,5\n", "h.csv:2: column 'symbol': missing symbol"),
        ("symbol,shares\nIT01,\n", "h.csv:1: column 'shares': missing shares"),
        ("symbol,shares\nIT01,-5\n", "h.csv:1: column 'shares': negative shares -5 (short positions are not"),
        ("symbol,shares\nIT01,inf\n", "h.csv:1: column 'shares': shares is not a finite number: 'inf'"),
        ("symbol,shares\ncash,-1\n", "h.csv:1: column 'shares': negative cash -1 (borrowing is not supported)"),
        (
            "symbol,shares\nIT01,1\nIT02,1\nIT01,2\n",
            "h.csv:3: column 'symbol': duplicate symbol 'IT01' (first on row 1)",
        ),
        ("symbol,shares\ncash,1\nCASH,2\n", "h.csv:2: column 'symbol': cash given twice (first on row 1)"),
        ("symbol,qty\nIT01,1\n", "h.csv: column 'shares': missing required column"),
        ("", "h.csv: unreadable holdings file (EmptyDataError"),
    ],
)
def test_bad_holdings_rows_name_file_row_and_problem(tmp_path, text, message):
    from hrl_sarp.rebalance import read_holdings

    path = tmp_path / "h.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_holdings(path)
    assert str(info.value).startswith(str(tmp_path / message)) and "\n" not in str(info.value)


def test_holdings_file_formats_and_cash(tmp_path):
    from hrl_sarp.rebalance import holdings_from, read_holdings

    frame = pd.read_csv(HOLDINGS)
    csv = read_holdings(HOLDINGS)
    assert csv.shares == dict(zip(frame["symbol"], frame["shares"].astype(float), strict=True)) and csv.cash is None
    assert csv.rows["IT01"] == 1 and csv.source == str(HOLDINGS)
    parquet = tmp_path / "h.parquet"
    pd.concat([frame, pd.DataFrame({"symbol": ["Cash"], "shares": [250_000.0]})]).to_parquet(parquet)
    from_parquet = read_holdings(parquet)
    assert from_parquet.shares == csv.shares and from_parquet.cash == 250_000.0
    assert read_holdings(HOLDINGS, cash=5.0).cash == 5.0
    with pytest.raises(InputError, match=r"h\.parquet:7: column 'symbol': cash given both in the file and as"):
        read_holdings(parquet, cash=5.0)
    assert holdings_from(None, 1000.0).cash == 1000.0 and holdings_from(None) is None
    with pytest.raises(InputError, match="use .csv or .parquet"):
        read_holdings(tmp_path / "h.xlsx")
    with pytest.raises(InputError, match=r"missing\.csv: holdings file not found"):
        read_holdings(tmp_path / "missing.csv")


# ------------------------------------------------------------------------------------------------- the command
@pytest.fixture
def champion(setup, tmp_path, monkeypatch):
    """The test system as the registered champion (version 7) in a temporary MLflow store; the config file."""
    from hrl_sarp import registry, tracking
    from hrl_sarp.system import TrainedSystem

    cfg, folder = setup
    system = TrainedSystem(folder)
    model = SimpleNamespace(unwrap_python_model=lambda: SimpleNamespace(system=system))
    monkeypatch.setattr(registry, "load_champion", lambda alias="champion", **_: (model, SimpleNamespace(version=7)))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    tracking.setup(cfg)  # the store exists, as after any training run (a dry run reads it and creates nothing)
    return cfg, system, write_config_file(cfg, tmp_path / "config.yaml"), uri


def _run(capsys, *argv: str) -> tuple[int, dict, str, str]:
    from hrl_sarp.cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return code, summary, captured.out, captured.err


def test_orders_file_reproduces_the_target_weights(champion, tmp_path, capsys):
    from mlflow import MlflowClient

    from hrl_sarp.rebalance import ORDER_COLUMNS
    from hrl_sarp.system import load_system_inputs

    cfg, system, config, uri = champion
    out = tmp_path / "orders.csv"
    argv = ["rebalance", "--config", str(config), "--holdings", str(HOLDINGS), "--nav", str(NAV), "--out", str(out)]
    code, summary, _, err = _run(capsys, *argv, "--json")
    assert code == 0 and summary["orders_file"] == str(out)
    orders = pd.read_csv(out)
    assert list(orders.columns) == ORDER_COLUMNS
    stocks, cash = orders.iloc[:-1], orders.iloc[-1]
    assert cash["symbol"] == "cash" and cash["side"] == "cash" and "cash" not in set(stocks["symbol"])
    assert set(stocks["side"]) <= {"buy", "sell", "hold"}

    # the model's weights for the latest date, and the fixture's holdings at the last closes
    arrays, embeddings, _ = load_system_inputs(cfg.warehouse_path())
    target = pd.Series(system.target_weights(arrays, embeddings, arrays.n_dates - 1), index=arrays.symbols.astype(str))
    by_symbol = stocks.set_index("symbol")
    np.testing.assert_allclose(by_symbol["target_weight"], target.reindex(by_symbol.index).fillna(0.0), atol=1e-6)
    held = pd.read_csv(HOLDINGS).set_index("symbol")["shares"]
    np.testing.assert_array_equal(by_symbol["current_shares"].reindex(held.index), held)
    assert (by_symbol["price_date"] == "2021-12-31").sum() == len(by_symbol) - 1  # ENERGY02 was delisted in March
    assert by_symbol.loc["ENERGY02", "price_date"] == "2021-03-05" and by_symbol.loc["ENERGY02", "side"] == "sell"

    # target shares x price + cash after the orders = NAV (money to 2 decimals), and each weight within one lot of
    # its target
    value = stocks["target_shares"] * stocks["price"]
    assert value.sum() + cash["target_value"] == pytest.approx(NAV, abs=0.01)
    assert stocks["target_value"].sum() + cash["target_value"] == pytest.approx(NAV, abs=0.01 * len(orders))
    achieved = value / NAV
    one_lot = cfg.rebalance.lot_size * stocks["price"] / NAV
    assert (achieved <= stocks["target_weight"] + 1e-6).all()
    assert (stocks["target_weight"] - achieved <= one_lot + 1e-6).all()
    assert cash["target_value"] / NAV >= cash["target_weight"] - 1e-6
    # the trades, their notional and side; the cash now is the NAV less the holdings
    np.testing.assert_array_equal(stocks["trade_shares"], stocks["target_shares"] - stocks["current_shares"])
    np.testing.assert_allclose(stocks["notional"], stocks["trade_shares"].abs() * stocks["price"], atol=0.01)
    sides = np.where(stocks["trade_shares"] > 0, "buy", np.where(stocks["trade_shares"] < 0, "sell", "hold"))
    assert (stocks["side"] == sides).all()
    assert cash["current_value"] == pytest.approx(NAV - (stocks["current_shares"] * stocks["price"]).sum(), abs=0.05)
    assert summary["nav"] == NAV and summary["cash_after"] == round(cash["target_value"])
    assert summary["holdings"] == str(HOLDINGS) and summary["orders"] == int((stocks["side"] != "hold").sum())

    # warnings: data two years old, a delisted holding priced at its last close
    assert summary["data_age_days"] > cfg.rebalance.max_staleness_sessions
    assert any("2021-12-31" in w and "rebalance.max_staleness_sessions" in w for w in summary["warnings"])
    assert "warning: the latest close in the warehouse is 2021-12-31" in err
    assert "warning: ENERGY02: last close on 2021-03-05" in err

    # the same file in the MLflow rebalance run
    client = MlflowClient(uri)
    run = client.get_run(summary["mlflow_run_id"])
    assert run.data.tags["proposal_id"] == summary["proposal_id"] and run.data.metrics["nav"] == NAV
    logged = client.download_artifacts(summary["mlflow_run_id"], "rebalance/orders.csv", str(tmp_path))
    assert Path(logged).read_text() == out.read_text()


def test_parquet_holdings_with_cash_set_the_nav_and_lots(champion, tmp_path, capsys):
    cfg, _, config, _ = champion
    frame = pd.read_csv(HOLDINGS)
    parquet = tmp_path / "holdings.parquet"
    pd.concat([frame, pd.DataFrame({"symbol": ["cash"], "shares": [2_500_000.0]})]).to_parquet(parquet)
    out = tmp_path / "orders.csv"
    with wh.open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        stored = wh.fetch_one(con, "SELECT count(*) FROM rebalance_proposals")[0]
    argv = ["rebalance", "--config", str(config), "--holdings", str(parquet), "--lot-size", "25", "--out", str(out)]
    code, summary, _, _ = _run(capsys, *argv, "--dry-run", "--json")
    assert code == 0
    orders = pd.read_csv(out)
    stocks, cash = orders.iloc[:-1], orders.iloc[-1]
    # no --nav: the holdings at the last closes plus the cash row
    nav = (stocks["current_shares"] * stocks["price"]).sum() + 2_500_000.0
    assert summary["nav"] == round(nav) and cash["current_value"] == pytest.approx(2_500_000.0)
    assert summary["lot_size"] == 25
    assert (stocks.loc[stocks["target_shares"] > 0, "trade_shares"] % 25 == 0).all()
    assert (stocks.loc[stocks["target_weight"] == 0, "target_shares"] == 0).all()
    assert (stocks["target_weight"] * nav / stocks["price"] - stocks["target_shares"] < 25 + 1e-3).all()
    # --dry-run: nothing recorded
    assert "mlflow_run_id" not in summary
    with wh.open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        assert wh.fetch_one(con, "SELECT count(*) FROM rebalance_proposals")[0] == stored


def test_text_output_shows_cash_as_cash(champion, tmp_path, capsys):
    _, _, config, _ = champion
    code, _, text, _ = _run(capsys, "rebalance", "--config", str(config), "--holdings", str(HOLDINGS), "--dry-run")
    assert code == 0 and "None" not in text
    assert "holdings: " + str(HOLDINGS) in text and "cash_now: " in text and "cash_after: " in text
    code, _, text, _ = _run(capsys, "rebalance", "--config", str(config), "--dry-run")  # weights only
    assert code == 0 and "None" not in text and "cash: 0.02" in text and "nav:" not in text


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ("IT01,10\nXYZ,5\n", [], ":2: column 'symbol': unknown symbol 'XYZ' (not in the warehouse's securities"),
        ("IT01,10\nNIFTY50,5\n", [], ":2: column 'symbol': 'NIFTY50' is an index, not a stock"),
        ("IT01,10\ncash,100\n", ["--nav", "5000"], ": the NAV 5,000.00 disagrees with holdings"),
        ("IT01,10000\n", ["--nav", "1000"], ": the holdings are worth 1,602,005.01 at the last closes, more than"),
    ],
)
def test_bad_holdings_are_one_line_errors(champion, tmp_path, capsys, rows, extra, message):
    _, _, config, _ = champion
    path = tmp_path / "bad.csv"
    path.write_text("symbol,shares\n" + rows)
    out = tmp_path / "orders.csv"
    code, _, _, err = _run(capsys, "rebalance", "--config", str(config), "--holdings", str(path), "--out", str(out),
                           *extra)  # fmt: skip
    errors = [line for line in err.splitlines() if line.startswith("error:")]  # MLflow may log a fresh store
    assert code == 1 and len(errors) == 1 and errors[0].startswith(f"error: {path}{message}") and "Traceback" not in err
    assert not out.exists()


def test_orders_file_needs_a_nav_and_an_existing_folder(champion, tmp_path, capsys):
    _, _, config, _ = champion
    code, _, _, err = _run(capsys, "rebalance", "--config", str(config), "--out", str(tmp_path / "o.csv"))
    assert code == 1 and "an orders file needs the portfolio's value" in err
    bad = tmp_path / "nowhere" / "o.csv"
    code, _, _, err = _run(capsys, "rebalance", "--config", str(config), "--nav", "1000", "--out", str(bad))
    assert code == 1 and "folder of the orders file does not exist" in err and not bad.parent.exists()
    # usage errors: argparse's exit code 2
    for wrong in (["--nav", "0"], ["--cash", "-5"], ["--lot-size", "0"], ["--holdings", str(tmp_path / "none.csv")]):
        code, _, _, err = _run(capsys, "rebalance", "--config", str(config), *wrong)
        assert code == 2 and err.strip().splitlines()[-1].startswith("error: argument "), wrong


def test_fresh_data_gives_no_staleness_warning(setup):
    from hrl_sarp.rebalance import propose, read_holdings
    from hrl_sarp.system import TrainedSystem

    cfg, folder = setup
    system = TrainedSystem(folder)
    holdings = read_holdings(HOLDINGS)
    fresh = propose(cfg, system, "7", write=False, holdings=holdings, nav=NAV, today=dt.date(2022, 1, 3))
    assert fresh.data_age_days == 3 and not any("max_staleness_sessions" in w for w in fresh.warnings)
    late = propose(cfg, system, "7", write=False, holdings=holdings, nav=NAV, today=dt.date(2022, 1, 10))
    assert any("5 sessions and 10 days before today (2022-01-10" in w for w in late.warnings)
    strict = cfg.model_copy(update={"rebalance": cfg.rebalance.model_copy(update={"max_staleness_sessions": 0})})
    assert any(
        "max_staleness_sessions 0" in w
        for w in propose(strict, system, "7", write=False, today=dt.date(2022, 1, 4)).warnings
    )


def test_a_dry_run_without_a_store_creates_nothing(setup, tmp_path, monkeypatch):
    """A read-only command: no MLflow folder, database or experiment appears, and the error says what to run."""
    from hrl_sarp.rebalance import rebalance

    cfg, _ = setup
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("HRL_SARP_OUTPUT_ROOT", str(tmp_path / "outputs"))
    cfg = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={"uri": None, "artifact_dir": "mlart"})})
    with pytest.raises(WarehouseStateError, match="no MLflow store at .*make demo"):
        rebalance(cfg, write=False)
    assert not (tmp_path / "outputs").exists()
