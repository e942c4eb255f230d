"""``fit_gnn`` end to end on a warehouse feature build: stored embeddings, MLflow record, CLI."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.config import load_config
from hrl_sarp.gnn.store import load_embeddings, load_model_metrics
from tests.gnn.conftest import FAST_GNN


@pytest.fixture
def tracked(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def _config(path, tmp, **extra):
    overrides = {"warehouse": str(path), "tracking.artifact_dir": str(tmp / "artifacts"), **FAST_GNN, **extra}
    return load_config("demo", overrides=overrides)


def test_fit_gnn_stores_embeddings_and_records_the_run(feature_warehouse, tracked, caplog):
    import mlflow

    from hrl_sarp.gnn.fit import fit_gnn

    caplog.set_level(logging.INFO, logger="hrl_sarp")
    cfg = _config(feature_warehouse, tracked)
    with wh.open_warehouse(feature_warehouse) as con:
        summary = fit_gnn(con, cfg, progress=False)
        again = fit_gnn(con, cfg, progress=False, track=False)
        weeks, sectors, emb, version = load_embeddings(con)
        metrics = load_model_metrics(con, version)
        n_rows = wh.fetch_one(con, "SELECT count(*) FROM sector_embeddings")[0]

    assert version == summary.model_version == again.model_version
    assert emb.shape == (summary.weeks_embedded, 11, cfg.gnn.embedding_dim) and np.isfinite(emb).all()
    assert n_rows == summary.weeks_embedded * 11  # the re-run replaced rows, it did not add any
    assert str(weeks[0]) == summary.first_embedded_week and len(sectors) == 11
    assert -1 <= summary.val_rank_ic <= 1 and 0 <= summary.link_auc <= 1
    assert metrics["anchor_weeks"] == summary.anchors

    run = mlflow.get_run(summary.mlflow_run_id)
    assert {"gnn/val_rank_ic", "gnn/raw_probe_rank_ic", "gnn/link_auc"} <= set(run.data.metrics)
    history = mlflow.tracking.MlflowClient().get_metric_history(run.info.run_id, "gnn/loss_rank")
    assert len(history) == cfg.gnn.epochs * len(summary.anchors)
    # progress without a bar: about 30 epoch lines over all refits plus each refit's last epoch, losses as recorded
    n_fits, n_epochs = len(summary.anchors), cfg.gnn.epochs
    pattern = rf"gnn fit (\d+)/{n_fits} \((\d+) weeks\) epoch (\d+)/{n_epochs}: loss_rank (\S+) loss_recon (\S+)"
    lines = [r.getMessage() for r in caplog.records if r.name == "hrl_sarp.gnn.fit"]
    epochs = [re.fullmatch(pattern, line) for line in lines if line.startswith("gnn fit")]
    assert all(epochs) and epochs[0][1] == "1" and epochs[0][3] == "1"
    done = {(int(m[1]), int(m[3])) for m in epochs}
    assert {(k, n_epochs) for k in range(1, n_fits + 1)} <= done and len(done) <= 30 + n_fits
    loss_rank = {m.step: m.value for m in history}
    for m in epochs:
        assert float(m[4]) == pytest.approx(loss_rank[(int(m[1]) - 1) * n_epochs + int(m[3]) - 1], rel=1e-3)
    assert lines[-1].startswith(f"gnn done: {summary.weeks_embedded} weeks embedded, val rank IC ")
    assert run.data.tags["gnn_model_version"] == version
    artifacts = {a.path for a in mlflow.tracking.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"model", "plots", "gnn_summary.json"} <= artifacts
    plots = mlflow.tracking.MlflowClient().list_artifacts(run.info.run_id, "plots")
    assert [p.path for p in plots] == ["plots/sector_embeddings_pca.png"]


def test_cli_fit_gnn_prints_json(feature_warehouse, tracked, capsys, monkeypatch):
    from hrl_sarp.cli import main

    config = tracked / "gnn.yaml"
    config.write_text(
        "gnn:\n  min_train_weeks: 40\n  refit_every_weeks: 26\n  epochs: 4\n"
        f"tracking:\n  artifact_dir: {tracked / 'artifacts'}\n"
    )
    code = main(
        ["fit-gnn", "--warehouse", str(feature_warehouse), "--config", str(config), "--encoder", "gat", "--json"]
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["encoder"] == "gat" and out["weeks_embedded"] > 0 and out["rows_written"] > 0


def test_cli_without_features_is_one_line_error(tmp_path, tracked, capsys):
    from hrl_sarp.cli import main

    code = main(["fit-gnn", "--warehouse", str(tmp_path / "empty.duckdb"), "--json"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("error:") and "features" in err and len(err.splitlines()) == 1
