"""``hrl-sarp train --phase 1|2`` end to end on the tiny build: summary, MLflow store, checkpoint row."""

from __future__ import annotations

import json

import pytest
import yaml

from hrl_sarp import warehouse as wh
from hrl_sarp.cli import main
from hrl_sarp.training import runner


@pytest.fixture
def train_setup(tmp_path, monkeypatch, tiny_arrays, tiny_embeddings):
    """A config writing everything under tmp_path and the tiny build standing in for the warehouse's features."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("HRL_SARP_WAREHOUSE", raising=False)
    config = {
        "profile": "test",
        "tracking": {"artifact_dir": str(tmp_path / "artifacts"), "experiment": "pretrain-test"},
        "pretrain": {"macro_epochs": 25, "micro_epochs": 4, "patience": 5, "output_dir": str(tmp_path / "models")},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    week_dates, emb = tiny_embeddings

    def fake_inputs(cfg, phase):
        return runner.PretrainInputs(tiny_arrays, "snap-tiny", week_dates, emb, "gnn-tiny")

    monkeypatch.setattr(runner, "load_inputs", fake_inputs)
    warehouse = tmp_path / "wh.duckdb"
    wh.connect(warehouse).close()  # `train` works on an existing warehouse (the fake inputs stand in for its features)
    return {"uri": uri, "config": str(path), "warehouse": str(warehouse)}


def _run(capsys, setup, phase):
    rc = main(
        ["train", "--phase", str(phase), "--config", setup["config"], "--warehouse", setup["warehouse"], "--json"]
    )
    assert rc == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_phase1_tracking_store(train_setup, capsys):
    from mlflow.tracking import MlflowClient

    summary = _run(capsys, train_setup, 1)
    assert summary["phase"] == 1 and summary["stage"] == "pretrain_macro"
    assert summary["val_regime_accuracy"] > summary["majority_baseline_accuracy"]
    assert summary["val_rank_ic"] > 0

    client = MlflowClient(train_setup["uri"])
    experiment = client.get_experiment_by_name("pretrain-test")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    nested = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(nested) == 1
    parent, stage = parents[0], nested[0]
    assert stage.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert stage.info.run_id == summary["mlflow_run_id"]
    for tags in (parent.data.tags, stage.data.tags):
        assert tags["data_snapshot_hash"] == "snap-tiny"
        assert tags["config_hash"] and tags["build_id"] == "tiny"
    assert "git_sha" in parent.data.tags
    assert parent.data.params["pretrain.macro_epochs"] == "25"  # the flattened config

    history = client.get_metric_history(stage.info.run_id, "pretrain_macro/val_loss")
    assert [m.step for m in history] == list(range(summary["epochs_run"]))
    for name in ("train_loss", "val_regime_accuracy", "val_rank_ic"):
        assert len(client.get_metric_history(stage.info.run_id, f"pretrain_macro/{name}")) == summary["epochs_run"]
    assert (
        stage.data.metrics["pretrain_macro/summary/majority_baseline_accuracy"] == summary["majority_baseline_accuracy"]
    )

    artifacts = {
        f.path for d in ("checkpoints", "plots", "config") for f in client.list_artifacts(stage.info.run_id, d)
    }
    assert artifacts == {"checkpoints/pretrain_macro.pt", "plots/pretrain_macro_loss.png", "config/config.yaml"}

    from hrl_sarp.config import load_config

    cfg = load_config(path=train_setup["config"], overrides={"warehouse": train_setup["warehouse"]})
    assert str(runner.latest_checkpoint(cfg, "pretrain_macro")) == summary["checkpoint"]

    from hrl_sarp.warehouse import open_warehouse

    with open_warehouse(train_setup["warehouse"], read_only=True) as con:
        assert runner.checkpoints_present(con, summary)
        assert runner.checkpoints_present(con, {"runs": [summary]})
        assert not runner.checkpoints_present(con, {**summary, "checkpoint": "/nope.pt"})


def test_train_phase2(train_setup, capsys):
    summary = _run(capsys, train_setup, 2)
    assert summary["stage"] == "pretrain_micro"
    assert {"val_return_goal_matched", "val_return_equal_weight", "val_excess_return"} <= set(summary)
    assert summary["val_goal_cosine"] > 0.9
