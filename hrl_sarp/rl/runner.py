"""Run Phases 3-5 end to end: load inputs and checkpoints, train, evaluate on validation, save, record.

This is the library call behind ``hrl-sarp train --phase 3|4|5`` and the ``rl`` flow's tasks. Records per phase:

- SB3 zips (and, for the macro agent, the VecNormalize reward statistics ``*_vecnormalize.pkl``) under
  ``<rl.output_dir>/<stage>/<config_hash>_<build_id>/``;
- MLflow: a nested stage run (``rl_phase3`` / ``rl_phase4`` / ``rl_phase5``) with SB3's metrics through
  :class:`~hrl_sarp.rl.mlflow_output.MLflowOutputFormat` (``<stage>/train/*``, ``<stage>/rollout/*``,
  ``<stage>/eval/val_sharpe`` ...), the summary as ``<stage>/summary/*`` (validation Sharpe of the system beside
  the Phase-2-only system and equal weight), the checkpoints and the config as artifacts;
- warehouse rows in ``model_checkpoints``: stages ``rl_macro`` (Phase 3), ``rl_micro`` (Phase 4),
  ``rl_joint_macro`` / ``rl_joint_micro`` (Phase 5).

A phase run alone reads the previous phases' checkpoints from the warehouse; :func:`run_rl` chains phases in
memory (what the flow and the demo do).

Progress: one INFO line per validation evaluation (Phases 3 and 4, :class:`~hrl_sarp.rl.callbacks.ValidationSharpeCallback`)
or round (Phase 5, ``phase 5 round 2/4: val Sharpe ...``), and SB3's progress bar when stderr is a terminal.
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np

from hrl_sarp.config import Config, output_path
from hrl_sarp.errors import HrlSarpError
from hrl_sarp.rl.inputs import RlInputs
from hrl_sarp.training.runner import record_checkpoint

PHASE_STAGES = {3: "rl_phase3", 4: "rl_phase4", 5: "rl_phase5"}
log = logging.getLogger(__name__)
CHECKPOINT_STAGES = {
    3: {"macro": "rl_macro"},
    4: {"micro": "rl_micro"},
    5: {"macro": "rl_joint_macro", "micro": "rl_joint_micro"},
}


def output_dir(cfg: Config, stage: str, build_id: str) -> Path:
    root = output_path(cfg.rl.output_dir)
    return root / stage / f"{cfg.config_hash()}_{build_id}"


def _pretrained(cfg: Config, stage: str, build_id: str) -> tuple[dict[str, Any], Any]:
    """This config's (so this seed's) Phase 1/2 network, else the build's newest."""
    from hrl_sarp.policies.checkpoint import load_network

    network, payload = load_network(_checkpoint(cfg, stage, build_id))
    return payload, network


def build_hierarchy(cfg: Config, inputs: RlInputs) -> Any:
    """A :class:`~hrl_sarp.rl.joint.Hierarchy` holding the pretrained networks (no SB3 model yet)."""
    from hrl_sarp.envs.simulator import MarketArrays
    from hrl_sarp.rl.evaluation import SystemEvaluator
    from hrl_sarp.rl.joint import Hierarchy

    arrays = inputs.arrays
    macro_payload, macro_net = _pretrained(cfg, "pretrain_macro", arrays.build_id)
    micro_payload, micro_net = _pretrained(cfg, "pretrain_micro", arrays.build_id)
    if macro_payload["kwargs"]["embedding_dim"] != inputs.macro_inputs.shape[2]:
        raise HrlSarpError("Phase 1 checkpoint and the macro sector inputs differ in size: re-run `train --phase 1`")
    market = MarketArrays.from_features(arrays, cfg.risk)
    evaluator = SystemEvaluator(arrays, cfg, inputs.embeddings, inputs.val_range, market)
    return Hierarchy(inputs, cfg, cfg.seed, market, evaluator, macro_payload, micro_payload, macro_net, micro_net)


def attach_macro(h: Any, path: str | None = None, stats: str | None = None) -> None:
    """Macro PPO on MacroEnv with the hierarchy's current micro agent frozen inside; from Phase 1 or ``path``."""
    from hrl_sarp.rl.macro_rl import build_macro_model, load_macro_model, macro_curriculum, macro_vec_env

    h.micro_layer = h.layer()
    h.macro_curriculum = macro_curriculum(h.inputs, h.cfg, h.seed)
    previous = None
    if stats:
        with open(stats, "rb") as handle:
            previous = pickle.load(handle)
    h.macro_venv = macro_vec_env(h.inputs, h.cfg, h.micro_layer, h.market, h.macro_curriculum, previous)
    if path:
        h.macro_model = load_macro_model(path, h.macro_venv, h.cfg)
    else:
        h.macro_model = build_macro_model(h.macro_venv, h.cfg, h.macro_pretrained, h.seed)


def attach_micro(h: Any, path: str | None = None) -> None:
    """Micro TD3 + HER on MicroEnv under the current macro's goal schedule; from Phase 2 or ``path``."""
    from hrl_sarp.rl.joint import SwitchableGoal
    from hrl_sarp.rl.micro_rl import build_micro_model, load_micro_model, micro_curriculum, micro_vec_env

    h.goals = SwitchableGoal(h.goal_schedule())
    h.micro_curriculum = micro_curriculum(h.inputs, h.cfg, h.seed + 1)
    h.micro_venv = micro_vec_env(h.inputs, h.cfg, h.goals, h.market, h.micro_curriculum)
    if path:
        h.micro_model = load_micro_model(path, h.micro_venv, h.cfg)
    else:
        h.micro_model = build_micro_model(h.micro_venv, h.cfg, h.micro_pretrained, h.seed)


def _logger(run_id: str | None, stage: str) -> Any:
    """SB3 metrics into MLflow run ``run_id``; without a run, a logger that writes nowhere."""
    from stable_baselines3.common.logger import Logger

    from hrl_sarp.rl.mlflow_output import mlflow_logger

    return mlflow_logger(run_id, prefix=f"{stage}/") if run_id else Logger(None, [])


def _save(h: Any, cfg: Config, phase: int, run_id: str) -> dict[str, str]:
    from hrl_sarp import tracking

    paths: dict[str, str] = {}
    for kind, stage in CHECKPOINT_STAGES[phase].items():
        folder = output_dir(cfg, stage, h.inputs.arrays.build_id)
        folder.mkdir(parents=True, exist_ok=True)
        model = h.macro_model if kind == "macro" else h.micro_model
        zip_path = folder / f"{kind}.zip"
        model.save(zip_path)
        tracking.log_artifact(zip_path, "checkpoints")
        paths[kind] = str(zip_path)
        if kind == "macro":
            stats = folder / "macro_vecnormalize.pkl"
            h.macro_venv.save(str(stats))
            tracking.log_artifact(stats, "checkpoints")
            paths["macro_stats"] = str(stats)
        record_checkpoint(cfg, stage, h.inputs.arrays.build_id, zip_path, run_id)
    config_file = tracking.write_config_yaml(
        cfg, output_dir(cfg, PHASE_STAGES[phase], h.inputs.arrays.build_id) / "config.yaml"
    )
    tracking.log_artifact(config_file, "config")
    return paths


def _checkpoint(cfg: Config, stage: str, build_id: str) -> str:
    """The newest ``stage`` checkpoint of this config (else of this feature build)."""
    from hrl_sarp.errors import WarehouseStateError
    from hrl_sarp.training.runner import latest_checkpoint

    try:
        return str(latest_checkpoint(cfg, stage, build_id=build_id, same_config=True))
    except WarehouseStateError:
        return str(latest_checkpoint(cfg, stage, build_id=build_id))


def _ensure(h: Any, phase: int) -> None:
    """Bring the hierarchy to the state a phase starts from, reading earlier phases' checkpoints when needed."""
    build = h.inputs.arrays.build_id
    if phase >= 4 and h.macro_model is None:
        path = _checkpoint(h.cfg, "rl_macro", build)
        attach_macro(h, path, str(Path(path).with_name("macro_vecnormalize.pkl")))
    if phase == 5 and h.micro_model is None:
        attach_micro(h, _checkpoint(h.cfg, "rl_micro", build))


def _learn_validated(model: Any, callback: Any, learn: Any, timesteps: int, curriculum: Any) -> dict[str, Any]:
    """Evaluate the start point, learn ``timesteps`` with the validation callback, keep the best parameters seen
    (early stopping on validation Sharpe); returns the callback's summary."""
    callback.init_callback(model)
    start = callback.run_eval()
    learn(timesteps, callback)
    callback.restore_best()
    return _callback_summary(callback, start, curriculum)


def train_phase(h: Any, phase: int, run_id: str | None = None) -> dict[str, Any]:
    """Train one phase on the hierarchy (no records); returns its numbers. SB3 metrics go to ``run_id``."""
    from hrl_sarp import tracking
    from hrl_sarp.rl.joint import alternate

    rl = h.cfg.rl
    stage = PHASE_STAGES[phase]
    _ensure(h, phase)
    extra: dict[str, Any] = {}
    if phase == 3:
        if h.macro_model is None or h.macro_venv is None:
            attach_macro(h)
        h.macro_model.set_logger(_logger(run_id, stage))
        callback = h.macro_callback(rl.eval_every_steps, label="phase 3", timesteps=rl.macro_timesteps)
        extra = _learn_validated(h.macro_model, callback, h.learn_macro, rl.macro_timesteps, h.macro_curriculum)
    elif phase == 4:
        attach_micro(h)
        h.micro_model.set_logger(_logger(run_id, stage))
        callback = h.micro_callback(rl.micro_eval_every_steps, label="phase 4", timesteps=rl.micro_timesteps)
        extra = _learn_validated(h.micro_model, callback, h.learn_micro, rl.micro_timesteps, h.micro_curriculum)
    else:
        h.macro_model.set_logger(_logger(run_id, f"{stage}/macro"))
        h.micro_model.set_logger(_logger(run_id, f"{stage}/micro"))

        def on_round(rnd: int, metrics: dict[str, float]) -> None:
            if run_id:
                tracking.log_metrics({f"{stage}/round/{k}": v for k, v in metrics.items()}, step=rnd)
            log.info(
                "phase 5 round %d/%d: val Sharpe %.3f (best %.3f)",
                rnd, rl.phase5_rounds, metrics["val_sharpe"], metrics["best_val_sharpe"],
            )  # fmt: skip

        result = alternate(h, on_round)
        extra = {k: v for k, v in result.items() if k != "history"}
        extra["round_val_sharpe"] = [r["val_sharpe"] for r in result["history"]]
    return extra


def _callback_summary(callback: Any, start: float, curriculum: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "val_sharpe_start": start,
        "best_val_sharpe": callback.best_sharpe,
        "best_timesteps": callback.best_timesteps,
        "evaluations": len(callback.history),
        "eval_val_sharpe": [e["val_sharpe"] for e in callback.history],
        **{f"reward_{k}": v for k, v in callback.reward_stats().items()},
    }
    if curriculum is not None:
        out["curriculum_stage"] = curriculum.stage_name
        out["curriculum_stages_seen"] = sorted({e["stage"] for e in callback.history})
    return out


def run_phase(
    cfg: Config,
    phase: int,
    inputs: RlInputs | None = None,
    parent_run_id: str | None = None,
    hierarchy: Any = None,
) -> dict[str, Any]:
    """Train, evaluate, save and record Phase ``phase`` (3, 4 or 5); returns the summary dict (validation Sharpe
    of the system beside ``val_sharpe_phase2_only`` and ``val_sharpe_equal_weight``, checkpoints, MLflow run)."""
    from hrl_sarp import tracking
    from hrl_sarp.rl.inputs import load_rl_inputs
    from hrl_sarp.threads import single_thread

    if phase not in PHASE_STAGES:
        raise HrlSarpError(f"phase {phase} is not an RL phase (3, 4 or 5)")
    stage = PHASE_STAGES[phase]
    began = time.perf_counter()
    with single_thread():
        h = hierarchy or build_hierarchy(cfg, inputs or load_rl_inputs(cfg))
        arrays = h.inputs.arrays
        tags = {"build_id": arrays.build_id, tracking.SNAPSHOT_TAG: h.inputs.snapshot, "rl_algo": cfg.rl.algo,
                "curriculum": str(cfg.rl.curriculum.enabled), "gnn_model_version": h.inputs.gnn_model_version,
                "seed": cfg.seed}  # fmt: skip
        tags = {k: str(v) for k, v in tags.items() if v is not None}
        with tracking.stage_run(cfg, stage, tags=tags, parent_run_id=parent_run_id) as run:
            run_id = run.info.run_id
            log.info("phase %d: training (%s)", phase, stage)
            extra = train_phase(h, phase, run_id)
            summary = {**h.summary(), **h.baselines(), **extra}
            summary["seconds"] = time.perf_counter() - began
            log.info(
                "phase %d done: val Sharpe %.3f (Phase 2 only %.3f, equal weight %.3f), %.0f s",
                phase, summary["val_sharpe"], summary["val_sharpe_phase2_only"], summary["val_sharpe_equal_weight"],
                summary["seconds"],
            )  # fmt: skip
            scalar = {f"{stage}/summary/{k}": v for k, v in summary.items() if _is_number(v)}
            tracking.log_metrics(scalar)
            paths = _save(h, cfg, phase, run_id)
    return {
        "stage": stage,
        "phase": phase,
        # the algorithm trained in this phase: the macro's (PPO / RecurrentPPO) in 3, TD3 + HER in 4, both in 5
        "algo": {3: cfg.rl.algo, 4: "td3_her", 5: f"{cfg.rl.algo}+td3_her"}[phase],
        "curriculum": cfg.rl.curriculum.enabled,
        "seed": cfg.seed,
        **summary,
        "checkpoints": paths,
        "checkpoint": paths.get("macro") or paths.get("micro"),
        "mlflow_run_id": run_id,
        "build_id": arrays.build_id,
        "_hierarchy": h,
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool)


def run_rl(
    cfg: Config, phases: list[int] | tuple[int, ...] = (3, 4, 5), inputs: RlInputs | None = None,
    parent_run_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Phases in order on one in-memory hierarchy; returns ``{stage: summary}`` plus ``runs`` and ``seconds``."""
    began = time.perf_counter()
    hierarchy = None
    report: dict[str, Any] = {"runs": []}
    for phase in sorted(phases):
        summary = run_phase(cfg, phase, inputs, parent_run_id, hierarchy)
        hierarchy = summary.pop("_hierarchy")
        report[summary["stage"]] = summary
        report["runs"].append(summary)
    report["seconds"] = time.perf_counter() - began
    return report


def public(summary: dict[str, Any]) -> dict[str, Any]:
    """A phase summary without in-memory objects (for the CLI and Prefect results)."""
    return {k: v for k, v in summary.items() if not k.startswith("_")}
