"""The backtest stage end to end: assemble the trained system, evaluate, report, record in MLflow, register.

This is the library code behind ``hrl-sarp backtest`` and the ``backtest`` flow's tasks:

1. :func:`prepare_system` — the most trained macro/micro checkpoints of the latest feature build (Phase 5, else
   3/4, else the Phase 1/2 networks) as a system folder, or None when nothing is trained yet;
2. :func:`load_stage_inputs` — the feature build and (when a system exists) its embeddings;
3. :func:`hrl_sarp.backtest.evaluate.evaluate` — HRL-SARP, flat RL, the benchmark and the baselines;
4. :func:`record` — the report (PNGs + one self-contained HTML), a nested MLflow stage run ``backtest`` with every
   ``{strategy}.{metric}`` (strategies that did not run log NaN, so every run has the same metric names), the
   report files and HRL-SARP's target weights as artifacts, and the registration of the system as
   ``models:/hrl-sarp`` with the ``champion`` / ``challenger`` alias.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hrl_sarp.backtest.baselines import BENCHMARK, EQUAL_WEIGHT, MIN_VARIANCE, MOMENTUM, RANDOM, RISK_PARITY
from hrl_sarp.backtest.evaluate import HRL_SARP, NOT_TRAINED, PRETRAINED, Evaluation
from hrl_sarp.backtest.flat_rl import FLAT_RL
from hrl_sarp.backtest.ridge import RIDGE
from hrl_sarp.backtest.truth import TRUTH_METRICS
from hrl_sarp.config import Config, output_path
from hrl_sarp.domain import CASH, METRIC_NAMES
from hrl_sarp.errors import HrlSarpError, WarehouseStateError
from hrl_sarp.features.arrays import FeatureArrays

STAGE = "backtest"
# Every strategy the backtest can report, in table order: the MLflow metric names are the same for every run.
log = logging.getLogger(__name__)

ALL_STRATEGIES = (
    HRL_SARP, PRETRAINED, RIDGE, FLAT_RL, BENCHMARK, EQUAL_WEIGHT, MOMENTUM, MIN_VARIANCE, RISK_PARITY, RANDOM,
)  # fmt: skip


@dataclass
class StageInputs:
    arrays: FeatureArrays
    embeddings: np.ndarray | None  # (W, S, D) aligned with arrays.week_end_index, None without a system
    system_folder: str | None
    system_note: str
    snapshot: str | None = None
    seed_folders: dict[int, str] = field(default_factory=dict)  # systems trained with other seeds
    benchmark: str | None = None  # which benchmark the feature build used and why (hrl_sarp.data.benchmark)
    pretrained_folders: dict[int, str] = field(default_factory=dict)  # seed -> its Phase 1/2 networks, no RL

    def pretrained(self) -> dict[int, Any]:
        """``{seed: system}`` of the pretrained networks of every trained seed (the ``pretrained`` strategy)."""
        from hrl_sarp.system import TrainedSystem

        return {seed: TrainedSystem(folder) for seed, folder in self.pretrained_folders.items()}

    def systems(self) -> tuple[Any, dict[int, Any]]:
        """``(primary system or None, {seed: system})`` loaded from the folders."""
        from hrl_sarp.system import TrainedSystem

        primary = TrainedSystem(self.system_folder) if self.system_folder else None
        return primary, {seed: TrainedSystem(folder) for seed, folder in self.seed_folders.items()}

    def held_out_start(self) -> int | None:
        primary, others = self.systems()
        systems = [s for s in [primary, *others.values()] if s is not None]
        return max(s.held_out_start(self.arrays) for s in systems) if systems else None


def _root(path: str) -> Path:
    return output_path(path)


def system_dir(cfg: Config, build_id: str) -> Path:
    return _root(cfg.rl.output_dir) / "system" / f"{cfg.config_hash()}_{build_id}"


def report_dir(cfg: Config, build_id: str) -> Path:
    return _root(cfg.rl.output_dir).parent / "backtest" / f"{cfg.config_hash()}_{build_id}"


def prepare_system(cfg: Config) -> tuple[str | None, str]:
    """``(system folder, note)``: the latest build's trained system, or ``(None, why)`` when none is trained."""
    from hrl_sarp.features.loader import latest_build_id
    from hrl_sarp.system import TrainedSystemError, system_from_warehouse
    from hrl_sarp.warehouse import open_warehouse

    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        build_id = latest_build_id(con)
    try:
        folder, info = system_from_warehouse(cfg, system_dir(cfg, build_id))
    except TrainedSystemError as exc:
        return None, f"{NOT_TRAINED} ({exc})"
    except WarehouseStateError as exc:  # no embeddings yet
        return None, f"{NOT_TRAINED} ({exc})"
    stages = ", ".join(f"{k}: {v}" for k, v in info["stages"].items())
    return str(folder), f"trained system from {stages}; validation Sharpe {info['val_sharpe']:.4f}"


def prepare_pretrained_system(cfg: Config) -> str | None:
    """The latest build's Phase 1/2 networks of this config as a system folder (the ``pretrained`` strategy), or
    None when they are not trained."""
    from hrl_sarp.features.loader import latest_build_id
    from hrl_sarp.system import TrainedSystemError, system_from_warehouse
    from hrl_sarp.warehouse import open_warehouse

    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        build_id = latest_build_id(con)
    try:
        folder, _ = system_from_warehouse(
            cfg, system_dir(cfg, build_id) / PRETRAINED, same_config=True, pretrained_only=True
        )
    except (TrainedSystemError, WarehouseStateError):
        return None
    return str(folder)


def prepare_seed_systems(cfg: Config) -> dict[int, str]:
    """``{seed: system folder}`` for every other training seed of this config on the latest build (Phase 1/2 and,
    when run, RL checkpoints of its own config), so HRL-SARP gets a mean and spread over seeds."""
    from hrl_sarp.features.loader import latest_build_id
    from hrl_sarp.system import TrainedSystemError, seed_variants, system_from_warehouse
    from hrl_sarp.warehouse import open_warehouse

    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        build_id = latest_build_id(con)
    folders: dict[int, str] = {}
    for seed in seed_variants(cfg, build_id):
        seeded = cfg.model_copy(update={"seed": seed})
        try:
            folder, _ = system_from_warehouse(seeded, system_dir(seeded, build_id), same_config=True)
        except TrainedSystemError:
            continue
        folders[seed] = str(folder)
    return folders


def load_stage_inputs(
    cfg: Config, system_folder: str | None, note: str, seed_folders: dict[int, str] | None = None
) -> StageInputs:
    """The latest feature build (and, with a system, its aligned embeddings and the pretrained-only system) from
    the warehouse, read-only."""
    from hrl_sarp.features.build import chosen_benchmark, find_build
    from hrl_sarp.features.loader import load_feature_arrays
    from hrl_sarp.warehouse import open_warehouse

    if system_folder is not None:
        from hrl_sarp.system import load_system_inputs

        arrays, embeddings, _ = load_system_inputs(cfg.warehouse_path())
    else:
        with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
            arrays = load_feature_arrays(con)
        embeddings = None
    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        row = find_build(con, arrays.build_id)
    snapshot = str(row["snapshot"]) if row else None
    benchmark = chosen_benchmark(row) if row else None
    pretrained: dict[int, str] = {}
    if system_folder is not None:
        for seed in [cfg.seed, *(seed_folders or {})]:
            folder = prepare_pretrained_system(cfg.model_copy(update={"seed": seed}))
            if folder is not None:
                pretrained[seed] = folder
    return StageInputs(
        arrays, embeddings, system_folder, note, snapshot, dict(seed_folders or {}), benchmark, pretrained
    )


def stable_metrics(evaluation: Evaluation) -> dict[str, float]:
    """``{strategy}.{metric}`` and ``_std`` for every strategy of :data:`ALL_STRATEGIES` (NaN for those that did
    not run) plus the Sharpe-difference intervals."""
    flat = evaluation.result.flat_metrics()
    for name in ALL_STRATEGIES:
        for metric in METRIC_NAMES:
            flat.setdefault(f"{name}.{metric}", float("nan"))
            flat.setdefault(f"{name}.{metric}_std", float("nan"))
        for metric in TRUTH_METRICS:
            flat[f"{name}.{metric}"] = evaluation.truth.get(name, {}).get(metric, float("nan"))
        if name != EQUAL_WEIGHT:
            for key in ("sharpe_diff", "sharpe_diff_low", "sharpe_diff_high"):
                flat.setdefault(f"{name}.{key}_vs_{EQUAL_WEIGHT}", float("nan"))
    return flat


def hrl_targets_frame(evaluation: Evaluation, arrays: FeatureArrays) -> pd.DataFrame:
    """HRL-SARP's target weights at each decision row: ``date``, one column per symbol, ``cash``."""
    rows = sorted(evaluation.hrl_targets)
    weights = np.array([evaluation.hrl_targets[r] for r in rows]).reshape(len(rows), arrays.n_stocks)
    frame = pd.DataFrame(weights, columns=[str(s) for s in arrays.symbols])
    frame[CASH] = 1.0 - weights.sum(axis=1)
    frame.insert(0, "date", pd.to_datetime(np.asarray(arrays.dates)[rows]))
    return frame


def record(
    cfg: Config,
    evaluation: Evaluation,
    inputs: StageInputs,
    out_dir: str | Path | None = None,
    register: bool = True,
    parent_run_id: str | None = None,
    seconds: float | None = None,
) -> dict[str, Any]:
    """Write the report, log the stage run, register the system; returns the JSON-able stage summary."""
    from hrl_sarp import tracking
    from hrl_sarp.reporting.report import write_report
    from schemas.backtest import validate_backtest_table

    arrays = inputs.arrays
    validate_backtest_table(evaluation.result.table())
    out = Path(out_dir) if out_dir else report_dir(cfg, arrays.build_id)
    summary = evaluation.summary()
    summary = {"split": summary.pop("split", None), "benchmark": inputs.benchmark, **summary}
    summary["hrl_sarp_status"] = inputs.system_note
    if inputs.system_folder:
        summary["hrl_sarp_seeds"] = [r.seed for r in evaluation.result.results[HRL_SARP]]
    tags = {
        "build_id": arrays.build_id,
        tracking.SNAPSHOT_TAG: inputs.snapshot,
        "backtest_split": evaluation.plan.description[:250],
        "hrl_sarp_trained": str(evaluation.system_used).lower(),
    }
    with tracking.stage_run(
        cfg, STAGE, tags={k: str(v) for k, v in tags.items() if v}, parent_run_id=parent_run_id
    ) as run:
        if register and inputs.system_folder is not None:
            from hrl_sarp.registry import register_system

            registration = register_system(
                inputs.system_folder, inputs=(arrays, inputs.embeddings), tags={"backtest_run_id": run.info.run_id}
            )
            summary["registry"] = registration.to_dict()
        files = write_report(
            evaluation.result,
            out,
            regime_called=evaluation.regime_called,
            regime_realised=evaluation.regime_realised,
            regime_dates=evaluation.regime_dates,
            provenance=provenance(cfg, arrays.build_id, inputs.snapshot, run.info.run_id, summary.get("registry")),
        )
        targets_csv = None
        if evaluation.hrl_targets:
            targets_csv = out / "hrl_sarp_targets.csv"
            hrl_targets_frame(evaluation, arrays).to_csv(targets_csv, index=False)
        tracking.log_metrics(stable_metrics(evaluation))
        tracking.log_metrics({"backtest.folds": float(len(evaluation.plan.folds))})
        if seconds is not None:
            tracking.log_metrics({"backtest.seconds": float(seconds)})
        if evaluation.regime_called is not None and len(evaluation.regime_called):
            tracking.log_metrics({"hrl_sarp.regime_hit_rate": summary["regime_hit_rate"]})
        for path in [files.html, files.table_csv, *files.plots.values(), *([targets_csv] if targets_csv else [])]:
            tracking.log_artifact(path, STAGE)
        summary["mlflow_run_id"] = run.info.run_id
        summary["report"] = str(files.html)
        summary["report_dir"] = str(out)
        summary_file = out / "summary.json"
        summary_file.write_text(json.dumps(summary, indent=2, default=str))
        tracking.log_artifact(summary_file, STAGE)
    if out_dir is None:
        summary["latest"] = str(point_latest(out))
    return summary


def provenance(
    cfg: Config, build_id: str, snapshot: str | None, run_id: str, registry: dict[str, Any] | None
) -> dict[str, str]:
    """Where a report came from: generation time, code, config, data, the MLflow run, the registered version."""
    import datetime as dt

    from hrl_sarp import tracking

    model = "not registered"
    if registry:
        model = f"{registry['name']} v{registry['version']} ({registry['alias']})"
    return {
        "generated": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "git sha": tracking.git_sha(),
        "profile / config hash": f"{cfg.profile} / {cfg.config_hash()}",
        "feature build": build_id,
        "data snapshot": str(snapshot or ""),
        "MLflow run": f"{run_id} ({tracking.tracking_uri(cfg)})",
        "model version": model,
    }


def point_latest(out: Path) -> Path:
    """Make ``<reports>/latest`` a link to ``out`` (relative, replaced atomically); returns the link's path."""
    link = out.parent / "latest"
    if link.exists() and not link.is_symlink():  # a folder someone named "latest": leave it alone
        log.warning("%s is not a link: not pointing it at the newest report", link)
        return out
    temporary = out.parent / f".latest-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(out.name, target_is_directory=True)
    os.replace(temporary, link)
    return link


def run_backtest_stage(
    cfg: Config,
    seeds: list[int] | None = None,
    register: bool = True,
    out_dir: str | Path | None = None,
    parent_run_id: str | None = None,
    use_system: bool = True,
) -> dict[str, Any]:
    """Everything above in one call (what the CLI runs); returns the stage summary."""
    from hrl_sarp.backtest.evaluate import evaluate

    began = time.perf_counter()
    folder, note = prepare_system(cfg) if use_system else (None, f"{NOT_TRAINED} (left out by request)")
    seed_folders = prepare_seed_systems(cfg) if folder else {}
    inputs = load_stage_inputs(cfg, folder, note, seed_folders)
    system, others = inputs.systems()
    evaluation = evaluate(
        inputs.arrays, cfg, system, inputs.embeddings, seeds=seeds, seed_systems=others, pretrained=inputs.pretrained()
    )
    return record(cfg, evaluation, inputs, out_dir, register, parent_run_id, time.perf_counter() - began)


def check_summary(summary: dict[str, Any]) -> None:
    """Raise when the summary misses a strategy or a metric (used by tests and the demo)."""
    strategies = summary.get("strategies", {})
    for name in ALL_STRATEGIES:
        value = strategies.get(name)
        if name in (HRL_SARP, PRETRAINED, FLAT_RL) and isinstance(value, str):
            continue
        if not isinstance(value, dict) or any(m not in value for m in METRIC_NAMES):
            raise HrlSarpError(f"backtest summary lacks {name} or one of its metrics")
