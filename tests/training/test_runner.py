"""run_pretrain's progress lines: one per epoch (a short fit logs every epoch) and a closing line with the best."""

from __future__ import annotations

import logging
import re

import pytest

from hrl_sarp.config import load_config
from hrl_sarp.training import runner


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return load_config(
        "demo",
        overrides={
            "warehouse": str(tmp_path / "wh.duckdb"),
            "tracking.artifact_dir": str(tmp_path / "artifacts"),
            "pretrain.output_dir": str(tmp_path / "models"),
            "pretrain.macro_epochs": 6,
            "pretrain.micro_epochs": 3,
            "pretrain.patience": 2,
        },
    )


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hrl_sarp.training.runner"]


def test_macro_pretraining_logs_each_epoch_and_the_best(cfg, tiny_arrays, tiny_embeddings, caplog):
    caplog.set_level(logging.INFO, logger="hrl_sarp")
    inputs = runner.PretrainInputs(tiny_arrays, "snap", *tiny_embeddings, "gnn")
    summary = runner.run_pretrain(cfg, 1, inputs)
    lines = _lines(caplog)
    epochs = [line for line in lines if line.startswith("macro epoch")]
    assert lines[0] == f"macro pretraining: up to 6 epochs on build {tiny_arrays.build_id}"
    assert len(epochs) == summary["epochs_run"]  # early stopping may end the fit before epoch 6
    pattern = r"macro epoch (\d)/6: train_loss (\S+) val_loss (\S+) val_regime_accuracy (\S+) val_rank_ic (\S+)"
    parsed = [re.fullmatch(pattern, line) for line in epochs]
    assert all(parsed) and [int(m[1]) for m in parsed] == list(range(1, summary["epochs_run"] + 1))
    best = parsed[summary["best_epoch"] - 1]
    assert float(best[3]) == pytest.approx(summary["val_loss"], rel=1e-3)
    assert float(best[5]) == pytest.approx(summary["val_rank_ic"], rel=1e-3, abs=1e-4)
    assert lines[-1] == (
        f"macro pretraining done: {summary['epochs_run']}/6 epochs, best epoch {summary['best_epoch']} "
        f"(val_loss {summary['val_loss']:.4g} val_regime_accuracy {summary['val_regime_accuracy']:.4g} "
        f"val_rank_ic {summary['val_rank_ic']:.4g})"
    )


def test_micro_pretraining_logs_each_epoch(cfg, tiny_arrays, caplog):
    caplog.set_level(logging.INFO, logger="hrl_sarp")
    summary = runner.run_pretrain(cfg, 2, runner.PretrainInputs(tiny_arrays, "snap"))
    epochs = [line for line in _lines(caplog) if line.startswith("micro epoch")]
    assert [line.split(":")[0] for line in epochs] == [
        f"micro epoch {e}/3" for e in range(1, summary["epochs_run"] + 1)
    ]
    assert all("val_excess_return" in line and "val_within_sector_ic" in line for line in epochs)
