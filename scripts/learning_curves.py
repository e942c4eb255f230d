"""Validation learning curves of the RL phases of one training run, read back from MLflow, as a PNG and JSON.

    python scripts/learning_curves.py [--parent RUN_ID] [--profile demo] [--out docs/img/learning_curves.png]

What it reads: the ``train-all`` parent run (default: the newest) and its ``rl_phase3`` / ``rl_phase4`` /
``rl_phase5`` runs, one set per training seed (run tag ``seed``), with their validation Sharpe on the deployed
decision path at every evaluation (``eval/val_sharpe`` against environment steps in Phases 3-4, ``round/val_sharpe``
against rounds in Phase 5) and the reference lines each phase records (``summary/val_sharpe_phase2_only``: the
pretrained networks; ``summary/val_sharpe_equal_weight``). Validation only: the test split is never read.

What it writes: one panel per phase, one line per seed, the references dashed; the curves as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from hrl_sarp.config import load_config  # noqa: E402
from hrl_sarp.tracking import tracking_uri  # noqa: E402

PHASES = {"rl_phase3": "eval/val_sharpe", "rl_phase4": "eval/val_sharpe", "rl_phase5": "round/val_sharpe"}
X_LABELS = {"rl_phase3": "macro steps (Phase 3 PPO)", "rl_phase4": "micro steps (Phase 4 TD3)",
            "rl_phase5": "round (Phase 5)"}  # fmt: skip


def _descendants(client: MlflowClient, experiment_id: str, parent_id: str) -> list:
    """Every run below ``parent_id`` (children, grandchildren, ...)."""
    found, frontier = [], [parent_id]
    while frontier:  # MLflow's filter has no IN for tags: one query per parent
        children = [
            run
            for parent in frontier
            for run in client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'", max_results=5000)
        ]
        found.extend(children)
        frontier = [r.info.run_id for r in children]
    return found


def curves(client: MlflowClient, experiment_name: str, parent_id: str | None) -> dict:
    """``{"parent": id, "phases": {stage: {seed: {"steps", "val_sharpe", "phase2_only", "equal_weight"}}}}``."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise SystemExit(f"error: no MLflow experiment '{experiment_name}': run `make demo` first")
    if parent_id is None:
        parents = client.search_runs(
            [experiment.experiment_id], "attributes.run_name = 'train-all'", max_results=1,
            order_by=["attributes.start_time DESC"],
        )  # fmt: skip
        if not parents:
            raise SystemExit("error: no train-all run in the experiment: run `make demo` first")
        parent_id = parents[0].info.run_id
    out: dict = {"parent": parent_id, "phases": {}}
    for run in _descendants(client, experiment.experiment_id, parent_id):
        stage = run.data.tags.get("hrl_sarp.stage")
        if stage not in PHASES:
            continue
        seed = run.data.tags.get("seed") or run.data.tags.get("config_hash", run.info.run_id)[:8]
        history = client.get_metric_history(run.info.run_id, f"{stage}/{PHASES[stage]}")
        history = sorted(history, key=lambda m: (m.step, m.timestamp))
        metrics = run.data.metrics
        out["phases"].setdefault(stage, {})[str(seed)] = {
            "steps": [m.step for m in history],
            "val_sharpe": [round(m.value, 4) for m in history],
            "phase2_only": metrics.get(f"{stage}/summary/val_sharpe_phase2_only"),
            "equal_weight": metrics.get(f"{stage}/summary/val_sharpe_equal_weight"),
        }
    if not out["phases"]:
        raise SystemExit(f"error: run {parent_id} has no RL phase runs (was the rl stage cached?)")
    return out


def plot(data: dict, path: Path) -> Path:
    stages = [s for s in PHASES if s in data["phases"]]
    fig, axes = plt.subplots(1, len(stages), figsize=(5 * len(stages), 3.8), sharey=True, squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=True):
        refs = {}
        for seed, c in sorted(data["phases"][stage].items()):
            ax.plot(c["steps"], c["val_sharpe"], marker="o", label=f"seed {seed}")
            refs.setdefault("pretrained (Phase-2-only)", []).append(c["phase2_only"])
            refs.setdefault("equal weight", []).append(c["equal_weight"])
        for (name, values), style in zip(refs.items(), ("--", ":"), strict=True):
            values = [v for v in values if v is not None]
            if values:
                ax.axhline(sum(values) / len(values), color="grey", linestyle=style, label=f"{name} (mean)")
        ax.set_title(stage)
        ax.set_xlabel(X_LABELS[stage])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation Sharpe (decision path)")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Validation learning curves, train-all run {data['parent'][:8]}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parent", help="train-all run id (default: the newest)")
    parser.add_argument("--profile", default="demo", help="config profile for the tracking URI (default: demo)")
    parser.add_argument("--out", default="docs/img/learning_curves.png", help="PNG path")
    args = parser.parse_args(argv)
    cfg = load_config(args.profile)
    client = MlflowClient(tracking_uri(cfg))
    data = curves(client, cfg.tracking.experiment, args.parent)
    data["png"] = str(plot(data, Path(args.out)))
    json.dump(data, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
