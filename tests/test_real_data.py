"""Real data end to end: 20 S&P 500 stocks in 7 sectors and the S&P 500 index (skfolio's shipped dataset, daily
closes 1990-2022, close-only, the index as a ``kind=index`` row with no sector) plus two FRED macro series
(arch's shipped extracts), written in the ``files`` layout by ``scripts/sp500_folder.py`` and run through every
stage with the CLI on the demo settings: validate-data, ingest, features, fit-gnn, train 1-5, backtest.

The config differs from the defaults only in where files go (the test's temporary folder), so nothing names the
benchmark, the sectors or the stock count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hrl_sarp.backtest.stage import ALL_STRATEGIES, check_summary
from hrl_sarp.cli import main
from hrl_sarp.config import REPO_ROOT
from tests.system_fixture import demo_config, write_config_file

STOCKS, SESSIONS = 20, 8313  # skfolio's sp500_dataset: 20 columns x 8,313 sessions, and the index on the same dates


def run_json(capsys, *argv: str) -> dict:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.slow
def test_sp500_folder_runs_every_stage(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "sp500"
    written = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "sp500_folder.py"), str(folder)],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout  # fmt: skip
    assert f"prices/stocks.csv: {STOCKS * SESSIONS:,} rows" in written and f"index.csv: {SESSIONS:,} rows" in written

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    cfg = demo_config(tmp_path)
    assert cfg.data.benchmark is None
    config = ["--config", str(write_config_file(cfg, tmp_path / "config.yaml"))]

    checked = run_json(capsys, "validate-data", "--path", str(folder), *config)
    assert checked["problems"] == [] and checked["rows_rejected"] == 0

    ingested = run_json(capsys, "ingest", "--source", "files", "--path", str(folder), *config)
    assert ingested["rows_rejected"] == 0
    assert ingested["loaded_by_table"]["prices"] == (STOCKS + 1) * SESSIONS == 174_573
    assert ingested["table_counts"]["securities"] == STOCKS + 1 and ingested["table_counts"]["macro"] > 0

    features = run_json(capsys, "features", *config)
    assert (features["n_stocks"], features["n_sectors"]) == (STOCKS, 7)
    assert features["benchmark_source"] == "index"
    assert features["benchmark"] == "index 'SP500' (the only index row in the data)"
    coverage = json.loads(Path(features["coverage_path"]).read_text())
    assert coverage["macro_features"]["crude_regime"]["status"] != "neutral"  # the two macro series are used
    assert coverage["macro_features"]["credit_spread"]["status"] != "neutral"

    gnn = run_json(capsys, "fit-gnn", *config)
    assert gnn["rows_written"] > 0
    for phase in (1, 2, 3, 4, 5):
        trained = run_json(capsys, "train", "--phase", str(phase), *config)
        assert trained["phase"] == phase

    summary = run_json(capsys, "backtest", *config)
    check_summary(summary)
    assert summary["benchmark"] == "index 'SP500' (the only index row in the data)"
    assert set(ALL_STRATEGIES) <= set(summary["strategies"])
    assert isinstance(summary["strategies"]["hrl_sarp"], dict)  # the trained system, not "not trained yet"
    assert "of data 1990-" in summary["split"] and "to 2022-12-28" in summary["split"]
