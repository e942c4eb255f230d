"""An SB3 logger output that writes SB3's metrics (``train/*``, ``rollout/*``, ``eval/*``...) into an MLflow run.

Usage::

    model.set_logger(mlflow_logger(run_id, prefix="phase3/"))

Numbers become metrics named ``prefix + key`` at ``step`` (SB3's ``num_timesteps``); strings, videos, figures and
keys excluded for ``"mlflow"`` are skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.logger import KVWriter, Logger


class MLflowOutputFormat(KVWriter):
    """``KVWriter`` logging numeric key-values to MLflow run ``run_id`` (default: the active run at creation)."""

    def __init__(self, run_id: str | None = None, prefix: str = ""):
        import mlflow

        if run_id is None:
            active = mlflow.active_run()
            if active is None:
                raise RuntimeError("MLflowOutputFormat needs a run_id or an active MLflow run")
            run_id = active.info.run_id
        self.run_id = run_id
        self.prefix = prefix
        self._client = mlflow.MlflowClient()

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = []
        for key, value in key_values.items():
            excluded = key_excluded.get(key) or ()
            if "mlflow" in excluded or isinstance(value, bool | str):
                continue
            if isinstance(value, int | float | np.integer | np.floating) and np.isfinite(value):
                metrics.append(Metric(self.prefix + key, float(value), now, int(step)))
            elif isinstance(value, np.ndarray) and value.size == 1 and np.isfinite(value).all():
                metrics.append(Metric(self.prefix + key, float(value.item()), now, int(step)))
        for start in range(0, len(metrics), 1000):
            self._client.log_batch(self.run_id, metrics=metrics[start : start + 1000])

    def close(self) -> None:
        """Nothing to release: the MLflow run belongs to the caller."""


def mlflow_logger(run_id: str | None = None, prefix: str = "", extra: list[KVWriter] | None = None) -> Logger:
    """An SB3 :class:`Logger` writing to MLflow (plus any ``extra`` outputs)."""
    return Logger(folder=None, output_formats=[MLflowOutputFormat(run_id, prefix), *(extra or [])])
