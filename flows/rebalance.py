"""Flow ``rebalance``: the champion model's target weights for the latest date in the warehouse and the orders
against the current holdings, as a warehouse table (``rebalance_proposals``) and a Prefect table artifact."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.rebalance import propose_rebalance_task, publish_rebalance_task


@flow(name="rebalance", log_prints=True)
def rebalance_flow(
    profile: str = "demo",
    warehouse: str | None = None,
    config: str | None = None,
    alias: str = "champion",
    write: bool = True,
) -> dict[str, Any]:
    """Propose next week's weights with ``models:/hrl-sarp@<alias>``; ``write=False`` leaves the warehouse alone.

    Returns the proposal summary: as-of date, model version, invested and cash weights, orders, cap checks.
    """
    from hrl_sarp.config import load_config

    cfg = load_config(profile=profile, path=config, overrides={"warehouse": warehouse})
    proposal = propose_rebalance_task(cfg, write, alias)
    summary = publish_rebalance_task(proposal)
    print(f"rebalance {summary['proposal_id']}: {summary['orders']} orders, cash {summary['cash']:.4f}")
    return summary


if __name__ == "__main__":
    rebalance_flow()
