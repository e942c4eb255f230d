"""``hrl-sarp demo`` output helpers and ``hrl-sarp up``'s stack discovery (the flow itself: tests/flows)."""

from __future__ import annotations

import os

from hrl_sarp.cli import build_parser
from hrl_sarp.cli.demo import format_table, headline_metrics, where_to_look
from hrl_sarp.cli.stack import stack_urls

STAGES = [
    {"stage": "ingest", "status": "ran", "seconds": 2.25, "metrics": {"rows_read": 10.0, "rows_loaded": 8.0}},
    {"stage": "gnn", "status": "cached", "seconds": 0.05, "metrics": {"seed": 42.0, "val_rank_ic": 0.056}},
]


def test_commands_are_registered():
    parser = build_parser()
    assert parser.parse_args(["demo", "--force", "--until", "features"]).until == "features"
    assert parser.parse_args(["up", "--prefect-port", "4300"]).prefect_port == 4300
    assert parser.parse_args(["down"]).handler.__name__ == "run_down"


def test_headline_metrics_prefer_validation_and_skip_seeds():
    assert headline_metrics({"seed": 1.0, "rows_read": 2.0, "val_rank_ic": 0.1}) == [
        ("val_rank_ic", 0.1),
        ("rows_read", 2.0),
    ]


def test_summary_table_has_one_row_per_stage_and_a_total():
    lines = format_table(STAGES).splitlines()
    assert lines[0].split() == ["stage", "status", "seconds", "metrics"]
    assert lines[2].split()[:3] == ["ingest", "ran", "2.2"] and "rows_loaded=8" in lines[2]
    assert lines[3].split()[:3] == ["gnn", "cached", "0.1"] and "seed" not in lines[3]
    assert lines[-1].split() == ["total", "2.3"]


def test_where_to_look_without_a_stack_says_how_to_start_one(tmp_path):
    result = {
        "profile": "demo", "warehouse": str(tmp_path / "wh.duckdb"), "mlflow_run_id": "abc", "flow_run_id": "f1",
        "mlflow_experiment_id": "7",
    }  # fmt: skip
    where = where_to_look(result, {})
    assert "make up" in where["MLflow"] and "#/experiments/7/runs/abc?workflowType=machine_learning" in where["MLflow"]
    assert "make up" in where["Prefect"] and "f1" in where["Prefect"]
    assert where["warehouse"] == str(tmp_path / "wh.duckdb") and "report" not in where
    urls = {"MLFLOW_UI_URL": "http://127.0.0.1:5000", "PREFECT_UI_URL": "http://127.0.0.1:4200"}
    where = where_to_look({**result, "report": "reports/backtest.html"}, urls)
    assert where["MLflow"] == "http://127.0.0.1:5000/#/experiments/7/runs/abc?workflowType=machine_learning"
    assert where["report"] == "reports/backtest.html"


def test_stack_urls_only_while_the_server_pid_is_alive(tmp_path, monkeypatch):

    monkeypatch.setenv("HRL_SARP_STACK_DIR", str(tmp_path))
    assert stack_urls() == {}
    (tmp_path / "urls.env").write_text("PREFECT_UI_URL=http://127.0.0.1:4200\n")
    (tmp_path / "prefect-server.pid").write_text(str(os.getpid()))
    assert stack_urls() == {"PREFECT_UI_URL": "http://127.0.0.1:4200"}
    (tmp_path / "prefect-server.pid").write_text("999999999")
    assert stack_urls() == {}


def test_strategy_table_orders_by_sharpe_and_reads_the_backtest_summary(tmp_path):
    import json

    from hrl_sarp.cli.demo import STRATEGY_COLUMNS, backtest_summary, format_strategies

    strategies = {
        "equal_weight": {c: 0.5 for c in STRATEGY_COLUMNS},
        "hrl_sarp": {**{c: 0.25 for c in STRATEGY_COLUMNS}, "sharpe": 0.9},
    }
    (tmp_path / "summary.json").write_text(json.dumps({"split": "2 folds", "strategies": strategies}))
    (tmp_path / "report.html").write_text("<html></html>")
    loaded = backtest_summary({"report": str(tmp_path / "report.html")})
    assert loaded["split"] == "2 folds"
    lines = format_strategies(loaded["strategies"]).splitlines()
    assert lines[0].split() == ["strategy", *STRATEGY_COLUMNS]
    assert lines[2].split()[:2] == ["hrl_sarp", "0.900"] and lines[3].split()[:2] == ["equal_weight", "0.500"]
    assert backtest_summary({}) == {}
