import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from hrl_sarp.rl.mlflow_output import MLflowOutputFormat, mlflow_logger


@pytest.fixture
def tracking(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("rl-test", artifact_location=(tmp_path / "art").as_uri())
    yield experiment
    mlflow.set_tracking_uri(None)


def test_sb3_logger_writes_metrics_into_the_run(tracking):
    with mlflow.start_run(experiment_id=tracking) as run:
        logger = mlflow_logger(run.info.run_id, prefix="rl_phase3/")
        logger.record("train/loss", 0.25)
        logger.record("rollout/ep_rew_mean", np.float32(1.5))
        logger.record("time/fps", 120)
        logger.record("train/note", "text is skipped")
        logger.record("train/hidden", 9.0, exclude="mlflow")
        logger.dump(step=64)
        logger.record("train/loss", 0.125)
        logger.dump(step=128)
    client = MlflowClient()
    history = client.get_metric_history(run.info.run_id, "rl_phase3/train/loss")
    assert [(m.step, m.value) for m in history] == [(64, 0.25), (128, 0.125)]
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics["rl_phase3/rollout/ep_rew_mean"] == 1.5
    assert metrics["rl_phase3/time/fps"] == 120.0
    assert "rl_phase3/train/note" not in metrics and "rl_phase3/train/hidden" not in metrics


def test_writer_uses_the_active_run(tracking):
    with mlflow.start_run(experiment_id=tracking) as run:
        writer = MLflowOutputFormat()
        writer.write({"eval/val_sharpe": 1.25, "bad": float("nan")}, {}, step=3)
        writer.close()
    metrics = MlflowClient().get_run(run.info.run_id).data.metrics
    assert metrics == {"eval/val_sharpe": 1.25}


def test_writer_needs_a_run(tracking):
    with pytest.raises(RuntimeError, match="active MLflow run"):
        MLflowOutputFormat()
