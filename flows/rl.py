"""Flow ``rl``: Phase 3 (macro PPO) -> Phase 4 (micro TD3 + HER) -> Phase 5 (alternating fine-tuning), per seed,
optionally repeated without the curriculum for comparison, plus a summary artifact."""

from __future__ import annotations

from typing import Any

from prefect import flow

from hrl_sarp.domain import Profile, TrainingPhase
from tasks.logs import send_library_logs_to_prefect
from tasks.rl import PHASE_TASKS, publish_rl_summary_task


@flow(name="rl", log_prints=True)
def rl_flow(
    profile: Profile = "demo",
    phases: list[TrainingPhase] | None = None,
    seeds: list[int] | None = None,
    warehouse: str | None = None,
    parent_run_id: str | None = None,
    config: str | None = None,
    compare_curriculum: bool = False,
) -> dict[str, Any]:
    """Train the RL phases on the latest feature build and the Phase 1/2 checkpoints.

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        phases: Which of phases 3 (macro PPO), 4 (micro TD3 + HER) and 5 (joint) to run (empty: all three; the
            pretraining phases 1-2 are ignored here).
        seeds: One run per seed (empty: the config's seed).
        warehouse: DuckDB file (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).
        parent_run_id: MLflow run to nest the stage runs under (train-all passes its stage run).
        config: A YAML file overlaid on config/default.yaml instead of the profile (as hrl-sarp --config).
        compare_curriculum: Also run the phases with the curriculum switched off (on, when the config has it off)
            and report both.

    Returns:
        ``{stage: summary}`` for the first seed (with the config's curriculum setting), ``runs`` (every summary),
        ``table`` (the artifact rows) and, when compared, ``curriculum_comparison``.
    """
    send_library_logs_to_prefect()
    from hrl_sarp.config import load_config

    wanted = sorted(p for p in (phases or [3, 4, 5]) if p in PHASE_TASKS)
    base = load_config(profile=profile, path=config, overrides={"warehouse": warehouse})
    settings = [base.rl.curriculum.enabled]
    if compare_curriculum:
        settings.append(not base.rl.curriculum.enabled)
    runs: list[dict[str, Any]] = []
    for seed in seeds or [base.seed]:
        for enabled in settings:
            overrides = {"warehouse": warehouse, "seed": seed, "rl.curriculum.enabled": enabled}
            cfg = load_config(profile=profile, path=config, overrides=overrides)
            for phase in wanted:
                summary = PHASE_TASKS[phase](cfg, parent_run_id=parent_run_id)
                runs.append(summary)
                print(
                    f"seed {seed} curriculum {enabled} {summary['stage']}: validation Sharpe "
                    f"{summary['val_sharpe']:.3f} (Phase-2-only {summary['val_sharpe_phase2_only']:.3f}, "
                    f"equal weight {summary['val_sharpe_equal_weight']:.3f})"
                )
    report: dict[str, Any] = {}
    if runs:
        report["table"] = publish_rl_summary_task(runs)
        first = runs[0]
        report.update(
            {r["stage"]: r for r in runs if r["seed"] == first["seed"] and r["curriculum"] == first["curriculum"]}
        )
        if compare_curriculum:
            last = {}
            for r in runs:
                if r["seed"] == first["seed"]:
                    last[r["curriculum"]] = r["val_sharpe"]
            report["curriculum_comparison"] = {
                "with_curriculum": last.get(True),
                "without_curriculum": last.get(False),
                "equal_weight": first["val_sharpe_equal_weight"],
            }
    report["runs"] = runs
    return report


if __name__ == "__main__":
    rl_flow()
