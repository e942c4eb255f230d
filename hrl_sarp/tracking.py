"""MLflow tracking: one parent run per pipeline run, one nested run per stage.

Default store: SQLite at ``mlruns/mlflow.db`` with artifacts under ``mlruns/artifacts`` (repo root);
``MLFLOW_TRACKING_URI`` or ``tracking.uri`` override it. Metric names are stable across runs so the MLflow UI can
compare runs side by side.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hrl_sarp.config import REPO_ROOT, Config, output_path

STAGE_TAG = "hrl_sarp.stage"
PARENT_TAG = "hrl_sarp.pipeline"
FLOW_TAG = "hrl_sarp.flow"
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI (Markdown)
# MLflow 3 opens an experiment on its GenAI pages unless its kind says otherwise.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_DEVELOPMENT = "custom_model_development"


def tracking_uri(cfg: Config, create: bool = True) -> str:
    """``MLFLOW_TRACKING_URI``, else ``tracking.uri``, else SQLite at ``mlruns/mlflow.db`` (its folder made unless
    ``create`` is False)."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    if cfg.tracking.uri:
        return cfg.tracking.uri
    db = output_path("mlruns") / "mlflow.db"
    if create:
        db.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db}"


def use_existing_store(cfg: Config) -> str:
    """Point MLflow at the configured store to read from it, creating nothing (no folder, database or
    experiment); a SQLite store that does not exist is a one-line error. Returns the URI."""
    import mlflow

    from hrl_sarp.errors import WarehouseStateError

    uri = tracking_uri(cfg, create=False)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise WarehouseStateError(
            f"no MLflow store at {uri.removeprefix('sqlite:///')}: run `make demo` (or train and backtest) first"
        )
    mlflow.set_tracking_uri(uri)
    return uri


def artifact_location(cfg: Config) -> str:
    path = output_path(cfg.tracking.artifact_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def setup(cfg: Config) -> str:
    """Point MLflow at the configured store and experiment; returns the experiment id."""
    import logging

    import mlflow

    for name in ("alembic", "mlflow.store.db.utils"):  # schema set-up chatter of a new store
        logging.getLogger(name).setLevel(logging.WARNING)
    mlflow.set_tracking_uri(tracking_uri(cfg))
    experiment = mlflow.get_experiment_by_name(cfg.tracking.experiment)
    if experiment is None:
        created = mlflow.create_experiment(
            cfg.tracking.experiment,
            artifact_location=artifact_location(cfg),
            tags={EXPERIMENT_KIND_TAG: MODEL_DEVELOPMENT},
        )
        # nested runs started without an experiment id land in the active experiment: make it this one
        mlflow.set_experiment(experiment_id=created)
        return created
    if (experiment.tags or {}).get(EXPERIMENT_KIND_TAG) != MODEL_DEVELOPMENT:  # made by an older version
        mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_DEVELOPMENT)
    mlflow.set_experiment(cfg.tracking.experiment)
    return experiment.experiment_id


def parent_run_name(profile: str, flow_run_name: str | None = None, when: dt.datetime | None = None) -> str:
    """``demo 2026-12-02 14:05 (quirky-otter)``: profile, local start time and Prefect flow-run name, so parent runs
    can be told apart in the MLflow compare view."""
    stamp = (when or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    return f"{profile} {stamp}" + (f" ({flow_run_name})" if flow_run_name else "")


# The MLflow 3 UI starts in its GenAI workspace unless the address asks for the machine-learning one.
ML_WORKSPACE = "workflowType=machine_learning"


def run_url(experiment_id: str, run_id: str | None = None, tab: str = "") -> str:
    """The MLflow UI's address (relative, so it works on any host) of an experiment's runs table, or of one run
    (``tab`` e.g. ``artifacts/report``), in the machine-learning workspace."""
    path = f"#/experiments/{experiment_id}/runs" + (f"/{run_id}" if run_id else "") + (f"/{tab}" if tab else "")
    return f"{path}?{ML_WORKSPACE}"


def model_version_url(name: str, version: str) -> str:
    return f"#/models/{name}/versions/{version}?{ML_WORKSPACE}"


def describe_run(run_id: str, markdown: str) -> None:
    """Set a run's description (shown on its page and as the compare view's note)."""
    import mlflow

    mlflow.MlflowClient().set_tag(run_id, NOTE_TAG, markdown)


@contextlib.contextmanager
def pipeline_run(
    cfg: Config, name: str = "pipeline", tags: dict[str, str] | None = None, run_id: str | None = None
) -> Iterator[Any]:
    """The parent run: tags (git sha, config hash, extra), the flattened config as params.

    With ``run_id`` an existing parent is resumed (e.g. a Prefect task joining its flow's run).
    """
    import mlflow

    experiment_id = setup(cfg)
    if run_id is not None:
        with mlflow.start_run(run_id=run_id) as run:
            yield run
        return
    all_tags = {PARENT_TAG: "true", "git_sha": git_sha(), "config_hash": cfg.config_hash(), "profile": cfg.profile}
    all_tags.update(tags or {})
    with mlflow.start_run(run_name=name, experiment_id=experiment_id, tags=all_tags) as run:
        log_params(cfg.flat())
        yield run


@contextlib.contextmanager
def stage_run(cfg: Config, stage: str, tags: dict[str, str] | None = None, parent_run_id: str | None = None):
    """A nested run for one stage; opens a parent first when none is active (a single CLI stage)."""
    import mlflow

    stage_tags = {STAGE_TAG: stage, "config_hash": cfg.config_hash()}
    stage_tags.update(tags or {})
    active = mlflow.active_run()
    if active is None:
        with pipeline_run(cfg, name=stage, tags=tags, run_id=parent_run_id) as parent:
            with mlflow.start_run(run_name=stage, nested=True, tags=stage_tags) as run:
                yield run
            mlflow.set_tags({k: v for k, v in (tags or {}).items()})
            _ = parent
        return
    with mlflow.start_run(run_name=stage, nested=True, tags=stage_tags) as run:
        yield run


def log_params(params: dict[str, Any]) -> None:
    """Log params in batches (MLflow limits a batch to 100), values as strings capped at 500 chars."""
    import mlflow

    items = [(k, str(v)[:500]) for k, v in params.items()]
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    import mlflow

    clean = {k: float(v) for k, v in metrics.items() if v is not None}
    if clean:
        mlflow.log_metrics(clean, step=step)


SNAPSHOT_TAG = "data_snapshot_hash"


def set_tags(tags: dict[str, str]) -> None:
    """Tag the active run (e.g. ``data_snapshot_hash``, ``build_id``); ``None`` values are skipped."""
    import mlflow

    clean = {k: str(v) for k, v in tags.items() if v is not None}
    if clean:
        mlflow.set_tags(clean)


def log_artifact(path: str | Path, artifact_path: str | None = None) -> None:
    """Log one local file (checkpoint, plot, report) to the active run."""
    import mlflow

    mlflow.log_artifact(str(path), artifact_path=artifact_path)


def write_config_yaml(cfg: Config, path: str | Path) -> Path:
    """The resolved configuration as YAML (what the run actually used)."""
    import yaml

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    return path


def save_loss_curves(history: dict[str, list[float]], path: str | Path, title: str = "") -> Path:
    """Plot per-epoch curves (one line per key, x = epoch) to a PNG with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in history.items():
        ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
