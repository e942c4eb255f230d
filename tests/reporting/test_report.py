from html.parser import HTMLParser

import numpy as np
import pytest

from hrl_sarp.backtest.baselines import BENCHMARK, Strategy, make_baselines, momentum
from hrl_sarp.backtest.engine import run_backtest
from hrl_sarp.backtest.splits import walk_forward_splits
from hrl_sarp.config import BacktestConfig, CostConfig, RiskConfig
from hrl_sarp.domain import METRIC_NAMES
from hrl_sarp.reporting.report import HRL_SARP, log_report, metrics_markdown, write_report
from tests.backtest.conftest import make_backtest_arrays


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.refs, self.tags, self.cells = [], [], [], []
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [(tag, k, v) for k, v in attrs if k in ("src", "href")]
        self._in_td = tag in ("td", "th")

    def handle_endtag(self, tag):
        self._in_td = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_td:
            self.cells.append(data.strip())


@pytest.fixture(scope="module")
def result():
    arrays = make_backtest_arrays(n_dates=360)
    cfg = BacktestConfig(train_days=150, test_days=100, embargo_days=5, bootstrap_samples=100, seeds=[0, 1])
    plan = walk_forward_splits(arrays.dates, cfg)
    # a stand-in for the trained system (test data only): seeded momentum under the HRL-SARP name
    stand_in = Strategy(HRL_SARP, lambda a, t, seed: momentum(a, t, seed, lookback=20 + seed), seeded=True)
    strategies = [stand_in, *make_baselines(cfg, RiskConfig())]
    return run_backtest(arrays, strategies, plan, cfg, CostConfig(), RiskConfig()), arrays


def test_html_is_self_contained_and_lists_every_strategy_and_metric(result, tmp_path):
    res, arrays = result
    rows = np.arange(res.plan.test_start, res.plan.test_end)[::5]
    files = write_report(
        res, tmp_path, regime_called=arrays.regime_labels[rows - 5], regime_realised=arrays.regime_labels[rows],
        regime_dates=arrays.dates[rows],
    )  # fmt: skip
    assert set(files.plots) == {"equity", "drawdown", "sector_weights", "regimes"}
    for path in files.plots.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    parser = _Collect()
    parser.feed(files.html.read_text(encoding="utf-8"))
    cells = set(parser.cells)
    for name in [HRL_SARP, BENCHMARK, "equal_weight", "momentum", "min_variance", "risk_parity", "random"]:
        assert name in cells
    for metric in METRIC_NAMES:
        assert metric in cells
    assert "script" not in parser.tags and "link" not in parser.tags
    assert parser.refs and all(v.startswith("data:image/png;base64,") for _, _, v in parser.refs)
    assert not any("http" in v for _, _, v in parser.refs)
    assert res.plan.description in "".join(parser.text)
    assert files.table_csv.read_text().splitlines()[0] == ",".join(["strategy", "n_seeds", *METRIC_NAMES])


def test_markdown_table_has_a_row_per_strategy(result):
    res, _ = result
    text = metrics_markdown(res)
    assert text.startswith("Split: ")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| strategy")]
    assert [r.split(" | ")[0][2:] for r in rows] == res.strategies


@pytest.mark.slow  # MLflow's SQLite store migrates on first use (~10 s)
def test_mlflow_logs_the_same_metric_names_for_every_strategy(result, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    res, _ = result
    files = write_report(res, tmp_path / "report")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    # an explicit experiment: another test in this process may have left its own experiment active
    experiment = mlflow.create_experiment("report-test", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        log_report(res, files)
    logged = mlflow.get_run(run.info.run_id).data.metrics
    for name in res.strategies:
        assert {f"{name}.{m}" for m in METRIC_NAMES} <= set(logged)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "backtest")}
    assert "backtest/report.html" in artifacts


def test_report_says_where_it_came_from_in_percent_with_the_regime_baseline(result, tmp_path):
    from hrl_sarp.backtest.metrics import balanced_accuracy

    res, arrays = result
    rows = np.arange(res.plan.test_start, res.plan.test_end)[::5]
    called = np.full(len(rows), 2)  # always Sideways: balanced accuracy of a constant call
    realised = arrays.regime_labels[rows]
    provenance = {"git sha": "abc1234", "MLflow run": "run-42", "model version": "hrl-sarp v3 (champion)"}
    files = write_report(
        res, tmp_path, regime_called=called, regime_realised=realised, regime_dates=arrays.dates[rows],
        provenance=provenance,
    )  # fmt: skip
    parser = _Collect()
    parser.feed(files.html.read_text(encoding="utf-8"))
    text = " ".join(" ".join(parser.text).split())
    for label, value in provenance.items():
        assert label in text and value in text
    table = res.table().set_index("strategy")
    assert f"{100 * table.loc['equal_weight', 'cagr']:.1f}%" in parser.cells  # fractions as percentages
    assert f"{table.loc['equal_weight', 'sharpe']:.3f}" in parser.cells
    expected = balanced_accuracy(called, realised, 3)
    assert f"balanced accuracy {expected:.3f}" in text and "every week scores" in text
    assert expected == pytest.approx(1 / 3)


def test_cash_spans_are_the_runs_of_days_with_nothing_invested():
    from hrl_sarp.reporting.report import cash_spans

    dates = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-11"))
    exposure = np.array([1.0, 0.0, 0.0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    assert cash_spans(dates, exposure) == [(dates[1], dates[2]), (dates[4], dates[4]), (dates[7], dates[9])]
    assert cash_spans(dates, np.ones(10)) == []


def test_a_single_seed_shows_no_table_of_zero_spreads(tmp_path):
    arrays = make_backtest_arrays(n_dates=360)
    cfg = BacktestConfig(train_days=150, test_days=100, embargo_days=5, bootstrap_samples=50, seeds=[0])
    plan = walk_forward_splits(arrays.dates, cfg)
    res = run_backtest(arrays, make_baselines(cfg, RiskConfig()), plan, cfg, CostConfig(), RiskConfig())
    page = write_report(res, tmp_path).html.read_text(encoding="utf-8")
    assert "no spread over seeds to show" in page
