"""The whole trained system (macro + micro + the preprocessing they need) as one folder, and its decision at a date.

A system folder holds::

    system.json   metadata: agent kinds and files, feature build and GNN version it was trained on, symbols,
                  sectors, feature names, rows it was trained/validated on, validation Sharpe
    config.yaml   the run config (logit scale, risk caps, goal matching, env layout)
    macro.zip | macro.pt   the macro agent: an SB3 zip (Phase 3/5) or a Phase 1 network checkpoint
    micro.zip | micro.pt   the micro agent: an SB3 zip (Phase 4/5) or a Phase 2 network checkpoint

The macro agent's PPO reward normalisation (``*_vecnormalize.pkl``) scales rewards only (``norm_obs`` is off; the
networks standardise their own inputs with Phase 1/2 statistics held as buffers), so inference needs no
normalisation file.

**Decision at row t** (data up to the close of t only): the one weekly decision function of
:mod:`hrl_sarp.rl.decisions` (macro goals decided at week ends on the MacroEnv observation layout with the previous
allocation and drawdown 0; the micro policy's stock logits rescaled to the macro sector weights when
``rl.micro_goal_matching``, its holdings input the system's own previous target; then the simulator's risk
pipeline). The drawdown rule depends on a portfolio's NAV path and is applied by the simulator that executes the
targets (backtest, validation) or reported by the rebalance.

The result is a pure function of (system, feature build, embeddings, t): validation and checkpoint selection, the
backtest, the registered MLflow model and the weekly rebalance all use this function, so they agree to
floating-point precision.

Shapes: T dates, N stocks, S sectors, W week ends, D embedding size.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from hrl_sarp.config import Config, validate_config
from hrl_sarp.domain import REGIMES
from hrl_sarp.errors import HrlSarpError, WarehouseStateError
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.rl.decisions import DecisionPath, SystemDecisions

SYSTEM_FILE = "system.json"
CONFIG_FILE = "config.yaml"
HRL_SARP = "hrl_sarp"


class TrainedSystemError(HrlSarpError):
    """A system folder is missing, incomplete or does not fit the feature build."""


def _load_sb3(path: Path, kind: str, algo: str) -> Any:
    """An SB3 model for prediction only (no environment, no replay buffer)."""
    schedules = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0}
    if kind == "macro":
        if algo == "recurrent_ppo":
            from sb3_contrib import RecurrentPPO

            return RecurrentPPO.load(path, device="cpu", custom_objects={**schedules, "clip_range": lambda _: 0.0})
        from stable_baselines3 import PPO

        from hrl_sarp.policies.macro import MacroPolicy

        return PPO.load(
            path, device="cpu", custom_objects={**schedules, "clip_range": lambda _: 0.0, "policy_class": MacroPolicy}
        )
    from stable_baselines3.common.buffers import DictReplayBuffer

    from hrl_sarp.rl.micro_rl import WarmStartTD3

    # HerReplayBuffer needs the training env at load time; prediction needs no buffer, so a 1-slot plain one
    return WarmStartTD3.load(
        path,
        device="cpu",
        custom_objects={
            **schedules,
            "replay_buffer_class": DictReplayBuffer,
            "replay_buffer_kwargs": {},
            "buffer_size": 1,
        },
    )


def _actor(path: Path, kind: str, algo: str) -> Any:
    from hrl_sarp.rl.layers import ModelActor, network_actor

    if path.suffix == ".zip":
        return ModelActor(_load_sb3(path, kind, algo))
    from hrl_sarp.policies.checkpoint import load_network

    network, _ = load_network(path)
    return network_actor(network)


def read_config_yaml(path: Path) -> Config:
    import yaml

    return validate_config(yaml.safe_load(path.read_text()) or {}, str(path))


class TrainedSystem:
    """Macro + micro agents and their config, loaded from a system folder (see the module docstring)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        meta_file = self.folder / SYSTEM_FILE
        if not meta_file.is_file():
            raise TrainedSystemError(f"{self.folder} is not a trained system folder ({SYSTEM_FILE} missing)")
        self.meta: dict[str, Any] = json.loads(meta_file.read_text())
        self.cfg = read_config_yaml(self.folder / CONFIG_FILE)
        algo = self.cfg.rl.algo
        self.macro_actor = _actor(self.folder / self.meta["macro_file"], "macro", algo)
        self.micro_actor = _actor(self.folder / self.meta["micro_file"], "micro", algo)
        self._cache: dict[tuple[int, int], tuple[FeatureArrays, np.ndarray, DecisionPath]] = {}

    # --- metadata --------------------------------------------------------------------------------------------------
    @property
    def val_sharpe(self) -> float | None:
        value = self.meta.get("val_sharpe")
        return None if value is None else float(value)

    @property
    def kind(self) -> str:
        """``rl`` when both agents are SB3 models, ``pretrained`` when both are Phase 1/2 networks, else ``mixed``."""
        kinds = {Path(self.meta["macro_file"]).suffix, Path(self.meta["micro_file"]).suffix}
        return "rl" if kinds == {".zip"} else "pretrained" if kinds == {".pt"} else "mixed"

    def check_compatible(self, arrays: FeatureArrays, embeddings: np.ndarray) -> None:
        """Raise :class:`TrainedSystemError` when ``arrays`` / ``embeddings (W, S, D)`` do not fit the trained networks
        (the embeddings as the macro agent observes them: none when its config has ``env.macro_embeddings`` off)."""
        from hrl_sarp.rl.inputs import week_sector_inputs

        embeddings = week_sector_inputs(self.cfg, arrays, embeddings)
        meta = self.meta
        problems = []
        if [str(s) for s in arrays.sectors] != meta["sectors"]:
            problems.append("sectors differ")
        if [str(s) for s in arrays.symbols] != meta["symbols"]:
            problems.append("symbols differ")
        if list(arrays.stock_feature_names) != meta["stock_feature_names"]:
            problems.append("stock features differ")
        if list(arrays.macro_names) != meta["macro_names"]:
            problems.append("macro features differ")
        seen = meta.get("sector_feature_names")  # absent in folders written before sector features existed
        if seen is not None and _sector_features_seen(self.cfg, arrays) != seen:
            problems.append(f"sector features differ ({_sector_features_seen(self.cfg, arrays)} != {seen})")
        if embeddings.shape[2] != meta["embedding_dim"]:
            problems.append(f"embedding size {embeddings.shape[2]} != {meta['embedding_dim']}")
        if problems:
            raise TrainedSystemError(
                f"feature build {arrays.build_id} does not fit the trained system ({'; '.join(problems)}): "
                "retrain with `hrl-sarp train` on this build"
            )

    # --- decisions -------------------------------------------------------------------------------------------------
    def path(self, arrays: FeatureArrays, embeddings: np.ndarray) -> DecisionPath:
        """The system's :class:`~hrl_sarp.rl.decisions.DecisionPath` over ``arrays`` with ``embeddings (W, S, D)``
        aligned to ``arrays.week_end_index`` (cached per pair of objects)."""
        key = (id(arrays), id(embeddings))
        if key not in self._cache:
            from hrl_sarp.rl.inputs import week_sector_inputs

            self.check_compatible(arrays, embeddings)
            sector_inputs = week_sector_inputs(self.cfg, arrays, embeddings)
            from hrl_sarp.envs.simulator import MarketArrays
            from hrl_sarp.rl.layers import PolicyMicroLayer

            market = MarketArrays.from_features(arrays, self.cfg.risk)
            layer = PolicyMicroLayer(self.micro_actor, arrays, market, self.cfg, rebalance_days=1)
            # the inputs are kept with the result so their ids cannot be reused by other objects meanwhile
            self._cache = {
                key: (
                    arrays,
                    embeddings,
                    DecisionPath(self.macro_actor, layer, arrays, sector_inputs, self.cfg, market),
                )
            }
        return self._cache[key][2]

    def decisions(self, arrays: FeatureArrays, embeddings: np.ndarray) -> SystemDecisions:
        """All week-end decisions over ``arrays`` (see :meth:`path`)."""
        return self.path(arrays, embeddings).decisions

    def target_weights(self, arrays: FeatureArrays, embeddings: np.ndarray, t: int) -> np.ndarray:
        """(N,) target stock weights decided at the close of row t (cash = 1 - sum), after the risk pipeline."""
        return self.path(arrays, embeddings).target_weights(t)

    def sector_weights(self, arrays: FeatureArrays, embeddings: np.ndarray, t: int) -> np.ndarray:
        """(S,) macro sector weights in force at row t."""
        return self.decisions(arrays, embeddings).goals[t].copy()

    def regime(self, arrays: FeatureArrays, embeddings: np.ndarray, t: int) -> str:
        """The macro regime call in force at row t (Bull / Bear / Sideways)."""
        return REGIMES[int(self.decisions(arrays, embeddings).regimes[t])]

    def strategy(self, arrays: FeatureArrays, embeddings: np.ndarray, name: str = HRL_SARP) -> Any:
        """A backtest :class:`~hrl_sarp.backtest.baselines.Strategy` whose weights are :meth:`target_weights`."""
        return self.path(arrays, embeddings).strategy(name)

    # --- inputs ----------------------------------------------------------------------------------------------------
    def held_out_start(self, arrays: FeatureArrays) -> int:
        """First row after the rows the system was trained or validated on (plus the split embargo)."""
        last = np.datetime64(self.meta["val_last_date"], "D")
        row = int(np.searchsorted(np.asarray(arrays.dates).astype("datetime64[D]"), last, side="right"))
        return min(arrays.n_dates, row + self.cfg.splits.embargo_days)


def load_system_inputs(warehouse: str | Path, build_id: str | None = None) -> tuple[FeatureArrays, np.ndarray, str]:
    """The feature build (default: the latest complete one) and its latest GNN embeddings aligned to its weeks.

    Returns ``(arrays, embeddings (W, S, D), gnn_model_version)``; read-only.
    """
    from hrl_sarp.features.loader import load_feature_arrays
    from hrl_sarp.gnn.store import load_embeddings
    from hrl_sarp.rl.inputs import align_embeddings
    from hrl_sarp.warehouse import open_warehouse

    with open_warehouse(warehouse, read_only=True) as con:
        arrays = load_feature_arrays(con, build_id)
        week_dates, sectors, emb, version = load_embeddings(con, build_id=arrays.build_id)
    if [str(s) for s in sectors] != [str(s) for s in arrays.sectors]:
        raise WarehouseStateError("sector embeddings and the feature build disagree on the sectors: re-run fit-gnn")
    return arrays, align_embeddings(arrays, np.asarray(week_dates), np.asarray(emb)), str(version)


def _sector_features_seen(cfg: Config, arrays: FeatureArrays) -> list[str]:
    return list(arrays.sector_feature_names) if cfg.env.macro_sector_features else []


def write_system(
    folder: str | Path,
    cfg: Config,
    arrays: FeatureArrays,
    embedding_dim: int,
    macro: Any,
    micro: Any,
    val_range: tuple[int, int],
    train_range: tuple[int, int] | None = None,
    val_sharpe: float | None = None,
    gnn_model_version: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a system folder. ``macro`` / ``micro``: an SB3 model (saved as a zip) or a path to an existing
    ``.zip`` or Phase 1/2 ``.pt`` checkpoint (copied). ``val_range``: (first, last) validation rows."""
    from hrl_sarp.tracking import write_config_yaml

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, agent in (("macro", macro), ("micro", micro)):
        if isinstance(agent, str | Path):
            source = Path(agent)
            if not source.is_file():
                raise TrainedSystemError(f"{kind} checkpoint {source} does not exist")
            target = out / f"{kind}{source.suffix}"
            shutil.copyfile(source, target)
        else:
            target = out / f"{kind}.zip"
            agent.save(target)
        files[kind] = target.name
    write_config_yaml(cfg, out / CONFIG_FILE)
    dates = np.asarray(arrays.dates).astype("datetime64[D]")
    meta = {
        "macro_file": files["macro"],
        "micro_file": files["micro"],
        "build_id": arrays.build_id,
        "gnn_model_version": gnn_model_version,
        "config_hash": cfg.config_hash(),
        "seed": cfg.seed,
        "algo": cfg.rl.algo,
        "sectors": [str(s) for s in arrays.sectors],
        "symbols": [str(s) for s in arrays.symbols],
        "stock_feature_names": list(arrays.stock_feature_names),
        "macro_names": list(arrays.macro_names),
        # what the macro agent reads beside each sector's embedding (rl.inputs.macro_sector_inputs)
        "sector_feature_names": _sector_features_seen(cfg, arrays),
        "embedding_dim": int(embedding_dim),
        "train_first_date": str(dates[train_range[0]]) if train_range else None,
        "train_last_date": str(dates[train_range[1]]) if train_range else None,
        "val_first_date": str(dates[val_range[0]]),
        "val_last_date": str(dates[val_range[1]]),
        "val_sharpe": None if val_sharpe is None else float(val_sharpe),
        **(extra or {}),
    }
    (out / SYSTEM_FILE).write_text(json.dumps(meta, indent=2))
    return out


def system_from_hierarchy(h: Any, folder: str | Path, val_sharpe: float | None = None) -> Path:
    """Write the system folder of an in-memory :class:`~hrl_sarp.rl.joint.Hierarchy` (SB3 models when trained,
    else its pretrained networks saved as checkpoints). ``val_sharpe`` defaults to the hierarchy's own rollout."""
    from hrl_sarp.policies.checkpoint import save_checkpoint

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    agents = {}
    for kind in ("macro", "micro"):
        model = getattr(h, f"{kind}_model")
        if model is not None:
            agents[kind] = model
        else:
            payload = getattr(h, f"{kind}_pretrained")
            agents[kind] = save_checkpoint(
                out / f"_{kind}_source.pt", kind, getattr(h, f"{kind}_network"), payload["kwargs"], {}
            )
    value = h.val_sharpe() if val_sharpe is None else val_sharpe
    path = write_system(
        out, h.cfg, h.inputs.arrays, h.inputs.macro_inputs.shape[2], agents["macro"], agents["micro"],
        h.inputs.val_range, h.inputs.train_range, value, h.inputs.gnn_model_version,
    )  # fmt: skip
    for kind in ("macro", "micro"):
        (out / f"_{kind}_source.pt").unlink(missing_ok=True)
    return path


# Checkpoint stages in order of preference: Phase 5, then Phases 3/4, then the pretrained networks.
_STAGE_CHOICES = {
    "macro": ("rl_joint_macro", "rl_macro", "pretrain_macro"),
    "micro": ("rl_joint_micro", "rl_micro", "pretrain_micro"),
}


def latest_system_checkpoints(
    cfg: Config, build_id: str, same_config: bool = False, pretrained_only: bool = False
) -> dict[str, tuple[str, str]]:
    """``{kind: (stage, path)}`` of the most trained macro and micro checkpoints of ``build_id`` in the warehouse
    (this config's own when it has one, else the newest; only this config's with ``same_config``; only the Phase
    1/2 networks with ``pretrained_only``).

    Raises :class:`TrainedSystemError` (telling the user to train) when either is missing.
    """
    from hrl_sarp.warehouse import open_warehouse, table_exists

    found: dict[str, tuple[str, str]] = {}
    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        if table_exists(con, "model_checkpoints"):
            for kind, stages in _STAGE_CHOICES.items():
                for stage in stages[-1:] if pretrained_only else stages:
                    rows = con.execute(
                        "SELECT path FROM model_checkpoints WHERE stage = ? AND build_id = ? "
                        f"{'AND config_hash = ? ' if same_config else ''}"
                        "ORDER BY (config_hash = ?) DESC, created_at DESC LIMIT 1",
                        [stage, build_id, *([cfg.config_hash()] if same_config else []), cfg.config_hash()],
                    ).fetchall()
                    if rows and Path(rows[0][0]).is_file():
                        found[kind] = (stage, str(rows[0][0]))
                        break
    missing = [k for k in _STAGE_CHOICES if k not in found]
    if missing:
        raise TrainedSystemError(
            f"no trained {' and '.join(missing)} agent for feature build {build_id}: "
            "run `hrl-sarp train --phase 1` and `--phase 2` (then 3-5) first"
        )
    return found


def system_from_warehouse(
    cfg: Config, folder: str | Path, same_config: bool = False, pretrained_only: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Assemble a system folder from the latest build's most trained checkpoints (the Phase 1/2 networks with
    ``pretrained_only``); the validation Sharpe is the system's own decision path over the validation rows
    (:class:`~hrl_sarp.rl.evaluation.SystemEvaluator`).

    Returns ``(folder, info)`` with the stages used.
    """
    from hrl_sarp.rl.evaluation import SystemEvaluator
    from hrl_sarp.rl.inputs import make_inputs

    arrays, embeddings, version = load_system_inputs(cfg.warehouse_path())
    chosen = latest_system_checkpoints(cfg, arrays.build_id, same_config, pretrained_only)
    inputs = make_inputs(arrays, embeddings, cfg, gnn_model_version=version)
    out = write_system(
        folder, cfg, arrays, inputs.macro_inputs.shape[2], chosen["macro"][1], chosen["micro"][1], inputs.val_range,
        inputs.train_range, None, version, {"stages": {k: v[0] for k, v in chosen.items()}},
    )  # fmt: skip
    system = TrainedSystem(out)
    from hrl_sarp.envs.simulator import MarketArrays
    from hrl_sarp.rl.layers import PolicyMicroLayer
    from hrl_sarp.threads import single_thread

    market = MarketArrays.from_features(arrays, system.cfg.risk)
    evaluator = SystemEvaluator(arrays, system.cfg, embeddings, inputs.val_range, market)
    with single_thread():
        layer = PolicyMicroLayer(system.micro_actor, arrays, market, system.cfg)
        value = evaluator.sharpe(system.macro_actor, layer)
    meta = json.loads((out / SYSTEM_FILE).read_text())
    meta["val_sharpe"] = float(value)
    meta["val_sharpe_equal_weight"] = float(evaluator.equal_weight_sharpe())
    (out / SYSTEM_FILE).write_text(json.dumps(meta, indent=2))
    return out, {"stages": meta["stages"], "val_sharpe": float(value), "build_id": arrays.build_id}


def seed_variants(cfg: Config, build_id: str) -> list[int]:
    """Seeds of the other trainings on ``build_id`` whose config equals ``cfg`` except for the seed (read from the
    ``config.yaml`` next to their Phase 1 checkpoints), sorted."""
    from hrl_sarp.warehouse import open_warehouse, table_exists

    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        if not table_exists(con, "model_checkpoints"):
            return []
        rows = con.execute(
            "SELECT config_hash, path FROM model_checkpoints WHERE stage = 'pretrain_macro' AND build_id = ?",
            [build_id],
        ).fetchall()
    seeds = set()
    for config_hash, path in rows:
        file = Path(path).parent / CONFIG_FILE
        if config_hash == cfg.config_hash() or not file.is_file():
            continue
        try:
            other = read_config_yaml(file)
        except HrlSarpError:
            continue
        if other.seed != cfg.seed and cfg.model_copy(update={"seed": other.seed}) == other:
            seeds.add(int(other.seed))
    return sorted(seeds)
