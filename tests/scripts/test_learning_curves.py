"""scripts/learning_curves.py: the validation curves of every RL phase of a train-all run, read back from MLflow."""

from __future__ import annotations

import importlib.util

import mlflow
import pytest
from mlflow import MlflowClient

from hrl_sarp.config import REPO_ROOT


def _script():
    spec = importlib.util.spec_from_file_location("learning_curves", REPO_ROOT / "scripts" / "learning_curves.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log_training(uri: str) -> str:
    """A train-all parent with an rl child and, per seed, Phase 3 and 5 runs with validation histories."""
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("curves")
    with mlflow.start_run(run_name="train-all") as parent, mlflow.start_run(run_name="rl", nested=True):
        for seed, shift in ((1, 0.0), (2, 0.1)):
            with mlflow.start_run(run_name="rl_phase3", nested=True, tags={"hrl_sarp.stage": "rl_phase3",
                                                                              "seed": str(seed)}):  # fmt: skip
                for step, value in ((0, 1.0), (512, 1.1), (1024, 1.05)):
                    mlflow.log_metric("rl_phase3/eval/val_sharpe", value + shift, step=step)
                mlflow.log_metrics({"rl_phase3/summary/val_sharpe_phase2_only": 1.0 + shift,
                                    "rl_phase3/summary/val_sharpe_equal_weight": 0.9})  # fmt: skip
            with mlflow.start_run(run_name="rl_phase5", nested=True, tags={"hrl_sarp.stage": "rl_phase5",
                                                                              "seed": str(seed)}):  # fmt: skip
                for step in range(2):
                    mlflow.log_metric("rl_phase5/round/val_sharpe", 1.2 + shift + step / 100, step=step)
    with mlflow.start_run(run_name="train-all"):  # a later run without RL phases (cached): not the one asked for
        pass
    mlflow.set_tracking_uri(None)
    return parent.info.run_id


def test_curves_per_phase_and_seed_and_a_plot(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent = _log_training(uri)
    module = _script()
    data = module.curves(MlflowClient(uri), "curves", parent)
    assert set(data["phases"]) == {"rl_phase3", "rl_phase5"}
    seed2 = data["phases"]["rl_phase3"]["2"]
    assert seed2["steps"] == [0, 512, 1024] and seed2["val_sharpe"] == pytest.approx([1.1, 1.2, 1.15])
    assert seed2["phase2_only"] == pytest.approx(1.1) and seed2["equal_weight"] == pytest.approx(0.9)
    assert data["phases"]["rl_phase5"]["1"]["val_sharpe"] == pytest.approx([1.2, 1.21])
    png = module.plot(data, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit, match="no RL phase runs"):  # the newest train-all has none
        module.curves(MlflowClient(uri), "curves", None)
    with pytest.raises(SystemExit, match="no MLflow experiment 'nope'"):
        module.curves(MlflowClient(uri), "nope", None)
