"""Flows ``backtest`` and ``rebalance`` under a temporary Prefect API: report, MLflow metrics, registration,
Prefect artifacts, the proposal table."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hrl_sarp.backtest.stage import ALL_STRATEGIES, check_summary
from hrl_sarp.domain import METRIC_NAMES
from tests.cli.test_backtest_cli import check_report
from tests.system_fixture import build_warehouse, fast_config, write_config_file

pytestmark = pytest.mark.slow

HOLDINGS = Path(__file__).parents[1] / "fixtures" / "holdings.csv"


def _artifacts(key: str) -> str:
    """The data of every artifact with ``key`` (one per flow run), as text."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert found, key
    return " ".join(str(a.data) for a in found)


def test_backtest_and_rebalance_flows(prefect_harness, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    from flows.backtest import backtest_flow
    from flows.rebalance import rebalance_flow
    from hrl_sarp import warehouse as wh
    from hrl_sarp.training.runner import run_pretrain

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    cfg = fast_config(tmp_path)
    build_warehouse(cfg)
    config = str(write_config_file(cfg, tmp_path / "config.yaml"))

    baselines_only = backtest_flow(config=config, backtest_seeds=[0, 1])
    assert baselines_only["strategies"]["hrl_sarp"].startswith("not trained yet")

    run_pretrain(cfg, 1)
    run_pretrain(cfg, 2)
    summary = backtest_flow(config=config, backtest_seeds=[0, 1])
    check_summary(summary)
    assert summary["registry"]["alias"] == "champion"
    assert summary["strategies"]["flat_rl"]["n_seeds"] == 2
    check_report(summary["report"], list(ALL_STRATEGIES))
    for name in ("equity.png", "drawdown.png", "sector_weights.png", "regimes.png", "hrl_sarp_targets.csv"):
        assert (Path(summary["report_dir"]) / name).is_file(), name

    # the same metric names in every run, so MLflow compares runs side by side (NaN where HRL-SARP did not run)
    client = MlflowClient(uri)
    first = client.get_run(baselines_only["mlflow_run_id"]).data.metrics
    second = client.get_run(summary["mlflow_run_id"]).data.metrics
    expected = {f"{s}.{m}" for s in ALL_STRATEGIES for m in METRIC_NAMES}
    assert expected <= set(first) and expected <= set(second)
    assert set(first) - {"hrl_sarp.regime_hit_rate"} == set(second) - {"hrl_sarp.regime_hit_rate"}
    assert math.isnan(first["hrl_sarp.sharpe"]) and math.isfinite(second["hrl_sarp.sharpe"])
    artifacts = {a.path for a in client.list_artifacts(summary["mlflow_run_id"], "backtest")}
    assert "backtest/report.html" in artifacts and "backtest/metrics.csv" in artifacts

    table = _artifacts("backtest-metrics")
    assert "hrl_sarp" in table and "information_ratio" in table
    assert "Split:" in _artifacts("backtest-report") and "champion" in _artifacts("backtest-report")

    orders_file = tmp_path / "orders.csv"
    proposal = rebalance_flow(config=config, holdings=str(HOLDINGS), nav=10_000_000.0, out=str(orders_file))
    assert proposal["model_version"] == summary["registry"]["version"]
    assert proposal["invested"] + proposal["cash"] == pytest.approx(1.0, abs=1e-5)
    assert proposal["checks"]["max_stock_weight"] <= cfg.risk.stock_cap + 1e-9
    assert proposal["nav"] == 10_000_000 and proposal["orders_file"] == str(orders_file)
    # the orders file as the Prefect table artifact (cash on its own line) and as an MLflow artifact
    artifact = _artifacts("rebalance-proposal")
    assert '"symbol": "cash"' in artifact and '"side": "cash"' in artifact and '"trade_shares"' in artifact
    logged = {a.path for a in client.list_artifacts(proposal["mlflow_run_id"], "rebalance")}
    assert "rebalance/orders.csv" in logged and orders_file.is_file()
    with wh.open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        rows = con.execute(
            "SELECT sum(target_weight), count(*) FROM rebalance_proposals WHERE proposal_id = ?",
            [proposal["proposal_id"]],
        ).fetchall()
    assert rows[0][0] == pytest.approx(1.0, abs=1e-12) and rows[0][1] >= 2
