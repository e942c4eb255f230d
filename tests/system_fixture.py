"""A small end-to-end setup for the backtest, registry, rebalance, CLI and flow tests.

A warehouse with a short synthetic market (3 years, 11 sectors x 2 stocks) and its feature build; deterministic
sector embeddings derived from the data (trailing sector return statistics, written as a GNN model version) so
the test needs no GNN fit; and a trained system whose agents are SB3 models (PPO macro, TD3 micro) initialised
from briefly pretrained Phase 1/2 networks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrl_sarp.config import Config, load_config

FAST = {
    "data.synthetic.start": "2019-01-01",
    "data.synthetic.end": "2021-12-31",
    "data.synthetic.stocks_per_sector": 2,
    "pretrain.macro_epochs": 3,
    "pretrain.micro_epochs": 2,
    "pretrain.patience": 5,
    "backtest.seeds": [0, 1],
    "backtest.bootstrap_samples": 50,
    "backtest.train_days": 252,
    "backtest.test_days": 63,
    "backtest.flat_rl_timesteps": 128,
    "backtest.flat_rl_episode_weeks": 8,
    "env.macro_episode_weeks": 6,
    "env.micro_episode_days": 15,
    "rl.macro_n_steps": 32,
    "rl.macro_batch_size": 16,
    "rl.micro_buffer_size": 1000,
    "rl.micro_learning_starts": 40,
    "rl.micro_batch_size": 16,
}


def demo_config(root: Path, **extra: object) -> Config:
    """The demo profile with the warehouse and every output folder under ``root``, plus dotted overrides."""
    overrides = {
        "warehouse": str(root / "wh.duckdb"),
        "tracking.artifact_dir": str(root / "mlartifacts"),
        "pretrain.output_dir": str(root / "models"),
        "rl.output_dir": str(root / "rl"),
        **extra,
    }
    return load_config("demo", overrides=overrides)


def fast_config(root: Path, **extra: object) -> Config:
    return demo_config(root, **{**FAST, **extra})


def weekly_embeddings(arrays, dim: int = 4) -> np.ndarray:
    """(W, S, dim) trailing sector return statistics at each week end (data up to the week end only)."""
    rows = []
    for t in arrays.week_end_index:
        window = arrays.sector_returns[max(0, t - 19) : t + 1]
        rows.append(np.stack([window.mean(0), window.std(0), window[-5:].sum(0), window.min(0)][:dim], axis=1))
    return np.asarray(rows) * 10.0


def build_warehouse(cfg: Config) -> None:
    """Ingest, build features and write the deterministic embeddings into ``cfg.warehouse``."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.features.build import build_features
    from hrl_sarp.features.loader import load_feature_arrays
    from hrl_sarp.gnn.store import embeddings_frame, write_embeddings
    from hrl_sarp.ingest import ingest

    ingest(cfg, progress=False)
    with wh.open_warehouse(cfg.warehouse_path()) as con:
        build_features(con, cfg, report_dir=cfg.warehouse_path().parent / "reports")
        arrays = load_feature_arrays(con)
        emb = weekly_embeddings(arrays)
        weeks = arrays.dates[arrays.week_end_index]
        embedded = np.arange(len(weeks)) >= 4  # a GNN warm-up: the first weeks have no embedding
        frame = embeddings_frame("gnn-test", arrays.build_id, weeks, arrays.sectors, emb, embedded)
        write_embeddings(con, frame, "gnn-test", arrays.build_id, "test", "gcn", {})


def build_system(cfg: Config, folder: Path, seed: int = 0, sb3: bool = True) -> Path:
    """A system folder: Phase 1/2 networks pretrained for a few epochs, wrapped in SB3 models when ``sb3``."""
    import torch

    from hrl_sarp.envs.simulator import MarketArrays
    from hrl_sarp.rl.evaluation import SystemEvaluator
    from hrl_sarp.rl.inputs import load_rl_inputs
    from hrl_sarp.rl.joint import Hierarchy
    from hrl_sarp.rl.runner import attach_macro, attach_micro
    from hrl_sarp.system import system_from_hierarchy
    from hrl_sarp.training.runner import load_inputs

    torch.manual_seed(seed)
    from hrl_sarp.training.pretrain import pretrain_macro, pretrain_micro

    inputs = load_rl_inputs(cfg)
    phase1 = load_inputs(cfg, 1)
    macro = pretrain_macro(phase1.arrays, phase1.week_dates, phase1.embeddings, cfg)
    micro = pretrain_micro(inputs.arrays, cfg)
    market = MarketArrays.from_features(inputs.arrays, cfg.risk)
    evaluator = SystemEvaluator(inputs.arrays, cfg, inputs.embeddings, inputs.val_range, market)
    h = Hierarchy(
        inputs, cfg, seed, market, evaluator,
        {"kwargs": macro.kwargs, "state_dict": macro.network.state_dict()},
        {"kwargs": micro.kwargs, "state_dict": micro.network.state_dict()},
        macro.network.eval(), micro.network.eval(),
    )  # fmt: skip
    if sb3:
        attach_macro(h)
        attach_micro(h)
    return system_from_hierarchy(h, folder)


def write_config_file(cfg: Config, path: Path) -> Path:
    """The resolved config as YAML, for ``--config`` / ``config=`` (CLI and flows)."""
    import yaml

    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    return path
