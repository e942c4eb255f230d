"""Flow ``pretrain``: Phase 1 (macro) then Phase 2 (micro) supervised pretraining, per seed, plus a summary artifact."""

from __future__ import annotations

from typing import Any

from prefect import flow

from hrl_sarp.domain import Profile, TrainingPhase
from tasks.logs import send_library_logs_to_prefect
from tasks.pretrain import pretrain_macro_task, pretrain_micro_task, publish_pretrain_summary_task


@flow(name="pretrain", log_prints=True)
def pretrain_flow(
    profile: Profile = "demo",
    phases: list[TrainingPhase] | None = None,
    seeds: list[int] | None = None,
    warehouse: str | None = None,
    parent_run_id: str | None = None,
    config: str | None = None,
) -> dict[str, Any]:
    """Pretrain the macro (phase 1) and micro (phase 2) networks on the latest feature build.

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        phases: Which of phases 1 and 2 to run (empty: both; the RL phases 3-5 are ignored here).
        seeds: One run per seed (empty: the config's seed).
        warehouse: DuckDB file (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).
        parent_run_id: MLflow run to nest the stage runs under (train-all passes its stage run); empty: each stage
            opens its own parent run.
        config: A YAML file overlaid on config/default.yaml instead of the profile (as hrl-sarp --config).

    Returns:
        ``{stage: summary}`` for the first seed plus ``runs``: every (seed, stage) summary.
    """
    send_library_logs_to_prefect()
    from hrl_sarp.config import load_config

    wanted = [p for p in (phases or [1, 2]) if p in (1, 2)]
    base = load_config(profile=profile, path=config, overrides={"warehouse": warehouse})
    runs: list[dict[str, Any]] = []
    for seed in seeds or [base.seed]:
        cfg = load_config(profile=profile, path=config, overrides={"warehouse": warehouse, "seed": seed})
        for phase in wanted:
            task = pretrain_macro_task if phase == 1 else pretrain_micro_task
            summary = task(cfg, parent_run_id=parent_run_id)
            runs.append({"seed": seed, **summary})
            print(f"seed {seed} {summary['stage']}: checkpoint {summary['checkpoint']}")
    if runs:
        publish_pretrain_summary_task(runs)
    first_seed = runs[0]["seed"] if runs else None
    report: dict[str, Any] = {r["stage"]: r for r in runs if r["seed"] == first_seed}
    report["runs"] = runs
    return report


if __name__ == "__main__":
    pretrain_flow()
