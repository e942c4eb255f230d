"""``hrl-sarp backtest`` and ``hrl-sarp rebalance``: summaries, the offline HTML report, registration, errors."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from hrl_sarp.backtest.stage import ALL_STRATEGIES, check_summary
from hrl_sarp.cli import main
from hrl_sarp.domain import METRIC_NAMES
from tests.system_fixture import build_warehouse, fast_config, write_config_file

BASELINES = ("benchmark", "equal_weight", "momentum", "min_variance", "risk_parity", "random", "flat_rl")


class _Page(HTMLParser):
    """Collects what a self-contained report must (not) contain."""

    def __init__(self):
        super().__init__()
        self.first_cells: list[str] = []
        self.external: list[str] = []
        self.scripts = 0
        self.images = 0
        self._row_start = False
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self._row_start = True
        elif tag == "td" and self._row_start:
            self._in_cell = True
        elif tag == "script":
            self.scripts += 1
        elif tag == "img":
            self.images += 1
            if not str(attrs.get("src", "")).startswith("data:image/png;base64,"):
                self.external.append(str(attrs.get("src")))
        for key in ("href", "src"):
            value = str(attrs.get(key) or "")
            if value.startswith(("http:", "https:", "//")):
                self.external.append(value)
        if tag == "link":
            self.external.append(str(attrs))

    def handle_data(self, data):
        if self._in_cell:
            self.first_cells.append(data.strip())
            self._in_cell = self._row_start = False


def check_report(path: str | Path, strategies: list[str]) -> None:
    page = _Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
    assert page.external == [] and page.scripts == 0 and page.images >= 3
    for name in strategies:
        assert name in page.first_cells, name


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("bt_cli")
    cfg = fast_config(root)
    build_warehouse(cfg)
    return cfg, write_config_file(cfg, root / "config.yaml"), root


@pytest.fixture(autouse=True)
def mlflow_store(env, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{env[2] / 'mlflow.db'}")


def _run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out and out[-1].startswith("{") else {}


def test_backtest_without_a_trained_system_runs_the_baselines(env, capsys):
    _, config, _ = env
    code, summary = _run_json(capsys, "backtest", "--config", str(config), "--json")
    assert code == 0
    assert summary["strategies"]["hrl_sarp"].startswith("not trained yet")
    for name in BASELINES:
        metrics = summary["strategies"][name]
        assert set(METRIC_NAMES) <= set(metrics) and all(np.isfinite(metrics[m]) for m in METRIC_NAMES)
    assert summary["strategies"]["random"]["n_seeds"] == 2 and summary["strategies"]["flat_rl"]["n_seeds"] == 2
    assert summary["split"].startswith("expanding walk-forward") and summary["folds"] >= 2
    assert "registry" not in summary
    check_summary(summary)
    check_report(summary["report"], list(BASELINES))

    main(["backtest", "--config", str(config), "--no-register"])
    text = capsys.readouterr().out
    assert "split: expanding walk-forward" in text and "hrl_sarp: not trained yet" in text


def test_rebalance_without_a_champion_is_a_one_line_error(env, capsys):
    _, config, _ = env
    code = main(["rebalance", "--config", str(config)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1
    assert err.startswith("error: no registered model 'hrl-sarp@champion'") and "hrl-sarp train" in err


@pytest.mark.slow
def test_backtest_registers_and_rebalance_uses_the_champion(env, capsys):
    from hrl_sarp.training.runner import run_pretrain

    cfg, config, _ = env
    other_seed = cfg.model_copy(update={"seed": cfg.seed + 1})
    for trained in (cfg, other_seed):
        run_pretrain(trained, 1)
        run_pretrain(trained, 2)
    code, summary = _run_json(capsys, "backtest", "--config", str(config), "--json")
    assert code == 0
    check_summary(summary)
    # the system of the other training seed joins: HRL-SARP's mean and spread over seeds
    assert summary["hrl_sarp_seeds"] == [cfg.seed, cfg.seed + 1]
    assert summary["strategies"]["hrl_sarp"]["n_seeds"] == 2 and summary["strategies"]["hrl_sarp"]["sharpe_std"] > 0
    assert set(ALL_STRATEGIES) <= set(summary["strategies"])
    assert isinstance(summary["strategies"]["hrl_sarp"], dict)
    assert "after HRL-SARP's training and validation rows" in summary["split"]
    assert summary["registry"]["alias"] == "champion" and summary["registry"]["version"] == "1"
    check_report(summary["report"], list(ALL_STRATEGIES))

    code, proposal = _run_json(capsys, "rebalance", "--config", str(config), "--json")
    assert code == 0 and proposal["model_version"] == "1"
    assert sum(proposal["targets"].values()) == pytest.approx(1.0, abs=1e-5)
    checks = proposal["checks"]
    assert checks["max_stock_weight"] <= cfg.risk.stock_cap + 1e-9
    assert checks["max_sector_weight"] <= cfg.risk.sector_cap + 1e-9
    assert checks["cash"] >= cfg.risk.min_cash - 1e-9
