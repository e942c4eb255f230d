"""End to end on the real stages: synthetic market -> warehouse -> feature build -> backtest -> report."""

import numpy as np
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.backtest.baselines import BENCHMARK
from hrl_sarp.backtest.engine import backtest_from_config
from hrl_sarp.config import load_config
from hrl_sarp.domain import METRIC_NAMES
from hrl_sarp.features.build import build_features
from hrl_sarp.features.loader import load_feature_arrays
from hrl_sarp.ingest import ingest
from hrl_sarp.reporting.report import write_report
from schemas.backtest import validate_backtest_table


@pytest.mark.slow
def test_baselines_on_the_synthetic_market(tmp_path):
    cfg = load_config(
        "demo",
        overrides={
            "warehouse": str(tmp_path / "wh.duckdb"),
            "data.synthetic.end": "2018-12-31",
            "backtest.train_days": 252,
            "backtest.test_days": 126,
            "backtest.seeds": [0, 1],
            "backtest.bootstrap_samples": 200,
        },
    )
    ingest(cfg, progress=False)
    con = wh.connect(cfg.warehouse_path())
    try:
        build_features(con, cfg, report_dir=tmp_path)
        arrays = load_feature_arrays(con)
    finally:
        con.close()
    result = backtest_from_config(arrays, cfg)
    table = validate_backtest_table(result.table())
    assert table["strategy"].iloc[0] == BENCHMARK and len(table) == 6
    assert result.plan.folds[0].test_start == 252 + cfg.backtest.embargo_days
    for runs in result.results.values():
        for run in runs:
            assert np.isfinite(run.returns).all() and np.isfinite(run.nav).all()
            if run.weights is not None:  # caps and minimum cash hold when trading (holdings drift in between)
                traded = run.weights[run.turnover > 0]
                assert len(traded) > 0
                assert (traded.sum(axis=1) <= 1 - cfg.risk.min_cash + 1e-9).all()
                assert (traded.max(axis=1) <= cfg.risk.stock_cap + 1e-9).all()
    summary = result.summary()
    assert summary["split"] == result.plan.description and summary["folds"] == len(result.plan.folds)
    files = write_report(result, tmp_path / "report")
    text = files.html.read_text()
    assert all(m in text for m in METRIC_NAMES) and "http" not in text
