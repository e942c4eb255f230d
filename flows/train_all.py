"""Flow ``train-all``: every stage in order, each skipped when its inputs, config and code are unchanged.

Stages run as subflows inside one cached task each (:func:`run_stage`). The task's cache key is
``INPUTS + TASK_SOURCE`` over plain strings: the stage name, its parameters, the config hash, a hash of the stage's
code and the fingerprint of what the previous stage produced (for ingest: the source, its location and, for live
sources, the as-of date). Results are persisted under ``.prefect/results`` (``HRL_SARP_RESULTS_DIR``), so the cache
works across runs and processes. A cache hit is only trusted when the stage's outputs are still in the warehouse
(:func:`outputs_present`); otherwise the stage re-runs with ``refresh_cache``.

One MLflow parent run per flow run (tagged with the Prefect flow-run id, git sha, config hash and data snapshot),
one nested run per stage: the stage's own run when it ran, or a run tagged ``hrl_sarp.cached=true`` carrying the
cached metrics when it was skipped, so every parent run has the same metric names.

New stages slot in by appending a :class:`Stage` to :data:`STAGES`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from hrl_sarp.domain import DataSource, PipelineStage, Profile, TrainingPhase
from hrl_sarp.reporting.headline import record_on_parent
from tasks.common import (
    RUN_SCOPED_INPUTS,
    code_hash,
    content_hash,
    cross_run_cache,
    flow_run_id,
    import_closure,
    results_dir,
)
from tasks.logs import send_library_logs_to_prefect

Summary = dict[str, Any]
Validator = Callable[[Any, Summary], bool]


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: a Prefect flow plus what keys its cache and proves its outputs exist.

    ``flow``: ``module:flow name`` of the stage flow (the flow is found by its Prefect name). The stage's code key
    is the content of every project module the flow imports, transitively (:func:`tasks.common.import_closure`),
    plus ``code``: the non-Python files and folders it runs (migrations, SQL). ``validate(con, summary)``: True when the outputs a
    cached summary describes are still in the warehouse (``con`` is read-only). ``fingerprint``: summary keys that
    identify the stage's outputs; later stages' cache keys include them unless the stage is a ``side`` stage (a
    report nothing downstream reads).
    """

    name: str
    flow: str
    code: tuple[str, ...]
    validate: Validator
    fingerprint: tuple[str, ...]
    config: tuple[str, ...] | None = None
    retries: int = 0
    retry_delay_seconds: int = 30
    side: bool = False

    def flow_file(self) -> str:
        """Repository-relative path of the module holding the stage's flow (``flows.ingest`` -> ``flows/ingest.py``)."""
        return self.flow.split(":")[0].replace(".", "/") + ".py"

    def config_key(self, cfg: Any) -> str:
        """Hash of the config sections this stage reads (``config``; None = the whole config).

        Upstream stages' outputs are keyed separately (``upstream``), so e.g. a new RL setting does not re-run ingest.
        """
        if self.config is None:
            return cfg.config_hash()
        dumped = cfg.model_dump(mode="json")
        picked = {name: dumped[name] for name in self.config}
        return hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()[:16]


def _snapshot_matches(con: Any, summary: Summary) -> bool:
    from hrl_sarp import warehouse as wh

    return wh.table_exists(con, "prices") and wh.snapshot_hash(con) == summary.get("snapshot")


def _row_exists(table: str, key_column: str, summary_key: str, extra_sql: str = "") -> Validator:
    def check(con: Any, summary: Summary) -> bool:
        from hrl_sarp import warehouse as wh

        value = summary.get(summary_key)
        if value is None or not wh.table_exists(con, table):
            return False
        sql = f"SELECT count(*) FROM {table} WHERE {key_column} = ? {extra_sql}"
        return bool(wh.fetch_one(con, sql, [value])[0])

    return check


def _checkpoints_present(con: Any, summary: Summary) -> bool:
    """Every checkpoint a training summary lists is on disk and recorded in ``model_checkpoints``."""
    from hrl_sarp import warehouse as wh

    paths = [run["checkpoint"] for run in summary.get("runs", []) if isinstance(run, dict) and run.get("checkpoint")]
    if not paths or not all(Path(p).is_file() for p in paths) or not wh.table_exists(con, "model_checkpoints"):
        return False
    recorded = {row[0] for row in con.execute("SELECT path FROM model_checkpoints").fetchall()}
    return set(paths) <= recorded


def _report_present(con: Any, summary: Summary) -> bool:
    """The backtest's HTML report is still on disk (the registered model lives in MLflow, not the warehouse)."""
    report = summary.get("report")
    return bool(report) and Path(report).is_file()


def _always(con: Any, summary: Summary) -> bool:
    return True


STAGES: tuple[Stage, ...] = (
    Stage(
        name="ingest",
        flow="flows.ingest:ingest",
        code=("warehouse/migrations/001_raw_tables.sql",),
        validate=_snapshot_matches,
        fingerprint=("snapshot",),
        config=("warehouse", "data"),
        retries=1,
    ),
    Stage(
        name="features",
        flow="flows.build_features:build-features",
        code=(
            "warehouse/migrations/002_features.sql",
            "warehouse/sql",
        ),
        validate=_row_exists("feature_builds", "build_id", "build_id", "AND status = 'complete'"),
        fingerprint=("build_id",),
        config=("warehouse", "data", "features", "risk"),
    ),
    Stage(
        name="gnn",
        flow="flows.fit_gnn:fit-gnn",
        code=("warehouse/migrations/003_gnn.sql",),
        validate=_row_exists("gnn_models", "model_version", "model_version"),
        fingerprint=("model_version",),
        config=("warehouse", "gnn", "splits", "seed"),
    ),
    Stage(
        name="gnn-seeds",
        flow="flows.fanout:gnn-seeds",
        code=("warehouse/migrations/003_gnn.sql",),
        validate=_always,
        fingerprint=("mean", "std"),
        config=("warehouse", "gnn", "splits", "seed"),
        side=True,
    ),
    Stage(
        name="pretrain",
        flow="flows.pretrain:pretrain",
        code=("warehouse/migrations/004_models.sql",),
        validate=_checkpoints_present,
        fingerprint=("runs",),
    ),
    Stage(
        name="rl",
        flow="flows.rl:rl",
        code=("warehouse/migrations/004_models.sql",),
        validate=_checkpoints_present,
        fingerprint=("runs",),
    ),
    Stage(
        name="backtest",
        flow="flows.backtest:backtest",
        code=("warehouse/migrations/005_rebalance.sql",),
        validate=_report_present,
        fingerprint=("report",),
    ),
)


def select_stages(until: str | None = None) -> list[Stage]:
    """The stages in order, up to and including ``until`` (all when None)."""
    names = [s.name for s in STAGES]
    if until is not None and until not in names:
        raise ValueError(f"unknown stage {until!r}; stages are {', '.join(names)}")
    return list(STAGES[: names.index(until) + 1] if until else STAGES)


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a stage on transient failures (network, services), never on bad input or config."""
    from hrl_sarp.errors import is_transient

    try:
        state.result(raise_on_failure=True)
    except Exception as exc:
        return is_transient(exc)
    return False


def _load_flow(ref: str) -> Any:
    """The Prefect flow named ``name`` in ``module`` (``module:name``)."""
    from prefect import Flow

    module_name, flow_name = ref.split(":")
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, Flow) and value.name == flow_name:
            return value
    raise ImportError(f"module {module_name} has no flow named {flow_name!r}")


def _accepted(fn: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``params`` that the flow function takes (stages differ in their parameters)."""
    signature = inspect.signature(getattr(fn, "fn", fn))
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
        return dict(params)
    return {k: v for k, v in params.items() if k in signature.parameters}


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def numeric_leaves(tree: Any, prefix: str = "", limit: int = 200) -> dict[str, float]:
    """Flatten the numbers in a summary to dotted MLflow metric names (booleans and nested lists are skipped)."""
    out: dict[str, float] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            name = f"{prefix}{key}".replace(" ", "_")
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                out[name] = float(value)
            elif isinstance(value, dict):
                out.update(numeric_leaves(value, name + ".", limit))
            if len(out) >= limit:
                break
    return out


def _fingerprint(stage: Stage, summary: Summary, upstream: str, code: str) -> str:
    """Identity of everything up to and including ``stage``: its outputs and code, chained on its upstream."""
    picked = {k: summary.get(k) for k in stage.fingerprint}
    payload = json.dumps([upstream, stage.name, code, picked], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@task(
    name="stage",
    cache_policy=cross_run_cache(RUN_SCOPED_INPUTS),
    persist_result=True,
    result_serializer="json",
)
def run_stage(
    stage: str,
    flow_ref: str,
    params_json: str,
    cache_extra: str,
    config_hash: str,
    code: str,
    upstream: str,
    parent_run_id: str | None = None,
    flow_run_id: str | None = None,
    dask_address: str | None = None,
) -> Summary:
    """Run one stage flow as a subflow inside a nested MLflow run; returns its JSON-safe summary and metrics.

    ``cache_extra``, ``config_hash``, ``code`` and ``upstream`` are not read here: they key the cache.
    """
    from hrl_sarp import tracking

    _ = (cache_extra, config_hash, code, upstream)
    stage_flow = _load_flow(flow_ref)
    params = {**json.loads(params_json), "dask_address": dask_address}
    began = time.perf_counter()
    if parent_run_id is None:
        summary = _json_safe(_call(stage_flow, params))
        stage_run_id = None
        metrics = numeric_leaves(summary)
    else:
        tags = {tracking.STAGE_TAG: stage, "hrl_sarp.cached": "false", "prefect_flow_run_id": flow_run_id or ""}
        with _child_run(parent_run_id, stage, tags) as run:
            # A stage flow that tracks its own runs nests them under this stage run.
            summary = _json_safe(_call(stage_flow, {**params, "parent_run_id": run.info.run_id}))
            metrics = numeric_leaves(summary)
            tracking.log_metrics({**metrics, "seconds": time.perf_counter() - began})
            stage_run_id = run.info.run_id
    seconds = time.perf_counter() - began
    return {"stage": stage, "summary": summary, "metrics": metrics, "seconds": seconds, "stage_run_id": stage_run_id}


def _child_run(parent_run_id: str, name: str, tags: dict[str, str]) -> Any:
    """A nested MLflow run under ``parent_run_id``, whether or not the parent is active in this thread."""
    import mlflow

    active = mlflow.active_run()
    if active is not None and active.info.run_id == parent_run_id:
        return mlflow.start_run(run_name=name, nested=True, tags=tags)
    return mlflow.start_run(run_name=name, parent_run_id=parent_run_id, tags=tags)


def _call(stage_flow: Any, params: dict[str, Any]) -> Any:
    result = stage_flow(**_accepted(stage_flow, params))
    return result if isinstance(result, dict) else {"result": result}


def _outputs_present(cfg: Any, stage: Stage, summary: Summary) -> bool:
    """Whether a cached stage's outputs are still in the warehouse (a deleted or rolled-back warehouse re-runs)."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.errors import HrlSarpError

    path = cfg.warehouse_path()
    if not Path(path).exists():
        return False
    try:
        with wh.open_warehouse(path, read_only=True) as con:
            return bool(stage.validate(con, summary))
    except HrlSarpError:
        return False


def _cache_extra(cfg: Any, base: dict[str, Any], stage: Stage) -> dict[str, str]:
    """What keys a stage's cache beyond its parameters: for ingest, the data the source would return."""
    extra: dict[str, str] = {}
    if stage.name == "ingest":
        source = base.get("source") or cfg.data.source
        if source != "synthetic" and not base.get("end"):
            # A live source changes daily: an open-ended ingest is keyed on today's date in India (UTC+05:30).
            india = dt.timezone(dt.timedelta(hours=5, minutes=30))
            extra["as_of"] = dt.datetime.now(dt.UTC).astimezone(india).date().isoformat()
        folder = base.get("path") or cfg.data.path
        if source == "files" and folder:
            extra["files"] = content_hash(Path(folder).expanduser().resolve())
    return extra


def _log_cached_stage(cfg: Any, parent_run_id: str, flow_id: str | None, result: Summary) -> None:

    from hrl_sarp import tracking

    tags = {
        tracking.STAGE_TAG: result["stage"],
        "hrl_sarp.cached": "true",
        "hrl_sarp.cached_from_run": str(result.get("stage_run_id")),
        "prefect_flow_run_id": flow_id or "",
    }
    with _child_run(parent_run_id, f"{result['stage']} (cached)", tags):
        tracking.log_metrics({**result["metrics"], "seconds": float(result["seconds"])})


@flow(name="train-all", log_prints=True)
def train_all(
    profile: Profile = "demo",
    phases: list[TrainingPhase] | None = None,
    start: str | None = None,
    end: str | None = None,
    seeds: list[int] | None = None,
    source: DataSource | None = None,
    path: str | None = None,
    warehouse: str | None = None,
    until: PipelineStage | None = None,
    dask_address: str | None = None,
    force: bool = False,
) -> Summary:
    """Run the pipeline: ingest -> features -> gnn -> ... (every stage in :data:`STAGES`, in order).

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        phases: Training phases to run (1 macro and 2 micro pretraining, 3-5 RL); empty: all of them.
        start: First date of the data, YYYY-MM-DD (empty: the config's data.start).
        end: Last date of the data, YYYY-MM-DD (empty: the config's data.end; live sources read up to today).
        seeds: Training seeds, fanned out as tasks by the stages that take seeds (empty: the config's seed).
        source: Where ingest reads the data (empty: the config's data.source).
        path: Folder of the files source, or the ticker list for yfinance (empty: the config's data.path).
        warehouse: DuckDB file (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).
        until: Stop after this stage (empty: run every stage).
        dask_address: Run fanned-out work on this existing Dask cluster (tcp://host:8786) through prefect-dask.
        force: Ignore the cache and run every selected stage.

    Returns:
        The run summary: flow-run id, MLflow parent run id, data snapshot and, per stage, its status (``ran``,
        ``cached``, ``rerun`` when a cache hit's outputs were gone), seconds and metrics.
    """
    send_library_logs_to_prefect()
    import mlflow

    from hrl_sarp import tracking
    from hrl_sarp.config import load_config

    logger = get_run_logger()
    cfg = load_config(profile=profile, overrides={"warehouse": warehouse})
    seeds = list(seeds) if seeds else [cfg.seed]
    selected = select_stages(until)
    base = {
        "profile": profile,
        "warehouse": str(cfg.warehouse_path()),
        "source": source,
        "path": path,
        "start": start,
        "end": end,
        "seeds": seeds,
        "phases": phases,
    }
    storage = results_dir(cfg)
    flow_id = flow_run_id()
    report: dict[str, Any] = {
        "flow_run_id": flow_id,
        "profile": profile,
        "warehouse": str(cfg.warehouse_path()),
        "results_dir": str(storage),
        "stages": [],
    }
    from prefect.runtime import flow_run

    run_name = tracking.parent_run_name(profile, flow_run.get_name() if flow_id else None)
    tags = {"prefect_flow_run_id": flow_id or "", tracking.FLOW_TAG: "train-all"}
    with tracking.pipeline_run(cfg, name=run_name, tags=tags) as parent:
        parent_id = parent.info.run_id
        report["mlflow_run_id"] = parent_id
        report["mlflow_experiment_id"] = parent.info.experiment_id
        upstream = ""
        parent_metrics: dict[str, float] = {}
        for stage in selected:
            stage_flow = _load_flow(stage.flow)
            call_params = _accepted(stage_flow, base)
            cache_extra = json.dumps(_cache_extra(cfg, base, stage), sort_keys=True)
            code = code_hash(*stage.code, *import_closure(stage.flow_file()))
            options = {
                "task_run_name": stage.name,
                "result_storage": storage,
                "retries": stage.retries,
                "retry_delay_seconds": stage.retry_delay_seconds,
                "retry_condition_fn": _retry_transient,
                "refresh_cache": True if force else None,
            }
            logger.info(
                "stage %s: cache key from config %s, code %s, upstream %s",
                stage.name,
                stage.config_key(cfg),
                code,
                upstream or "-",
            )
            began = time.perf_counter()
            params_json = json.dumps(call_params, sort_keys=True, default=str)
            call_args = (stage.name, stage.flow, params_json, cache_extra, stage.config_key(cfg), code, upstream)
            state = run_stage.with_options(**options)(
                *call_args, parent_run_id=parent_id, flow_run_id=flow_id, dask_address=dask_address, return_state=True
            )
            result = state.result()
            status = "cached" if state.name == "Cached" else "ran"
            if status == "cached" and not _outputs_present(cfg, stage, result["summary"]):
                logger.warning(
                    "stage %s: cache hit but its outputs are gone from the warehouse; re-running", stage.name
                )
                state = run_stage.with_options(**{**options, "refresh_cache": True})(
                    *call_args,
                    parent_run_id=parent_id,
                    flow_run_id=flow_id,
                    dask_address=dask_address,
                    return_state=True,
                )
                result = state.result()
                status = "rerun"
            elapsed = time.perf_counter() - began
            if status == "cached":
                _log_cached_stage(cfg, parent_id, flow_id, result)
                logger.info("stage %s: CACHED (inputs, config and code unchanged) in %.1fs", stage.name, elapsed)
            else:
                logger.info("stage %s: ran in %.1fs", stage.name, elapsed)
            if not stage.side:
                # Cumulative: a later stage re-runs when any earlier stage's outputs or code changed.
                upstream = _fingerprint(stage, result["summary"], upstream, code)
            # The parent holds a fixed set (stage seconds and cache flags, the backtest's headline); details live in
            # the stage's nested run.
            parent_metrics[f"{stage.name}.seconds"] = elapsed
            parent_metrics[f"{stage.name}.cached"] = 1.0 if status == "cached" else 0.0
            if "snapshot" in result["summary"]:
                report["snapshot"] = result["summary"]["snapshot"]
                mlflow.set_tag("snapshot", report["snapshot"])
            report["stages"].append(
                {
                    "stage": stage.name,
                    "status": status,
                    "seconds": round(elapsed, 2),
                    "stage_seconds": round(float(result["seconds"]), 2),
                    "metrics": result["metrics"],
                    "summary": result["summary"],
                }
            )
            if "report" in result["summary"]:
                report["report"] = result["summary"]["report"]
        tracking.log_metrics(parent_metrics)
        backtest = next((s for s in report["stages"] if s["stage"] == "backtest"), None)
        if backtest is not None:
            record_on_parent(parent_id, backtest["summary"], registered_here=backtest["status"] != "cached")
    return report
