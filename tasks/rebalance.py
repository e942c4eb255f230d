"""Prefect tasks around :mod:`hrl_sarp.rebalance`: the champion's proposal and its table artifact."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from hrl_sarp.config import Config


@task(name="propose-rebalance", cache_policy=NO_CACHE)
def propose_rebalance_task(cfg: Config, write: bool = True, alias: str = "champion") -> Any:
    """Champion -> target weights for the latest date and the orders, written to ``rebalance_proposals``."""
    from hrl_sarp.rebalance import rebalance

    return rebalance(cfg, write=write, alias=alias)


@task(name="publish-rebalance", cache_policy=NO_CACHE)
def publish_rebalance_task(proposal: Any) -> dict[str, Any]:
    """One table artifact row per symbol (and cash): target, current, order and side."""
    frame = proposal.frame.copy()
    frame["as_of"] = frame["as_of"].astype(str)
    rows = [
        {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
        for row in frame.drop(columns=["proposal_id"]).to_dict("records")
    ]
    create_table_artifact(
        rows,
        key="rebalance-proposal",
        description=f"Rebalance {proposal.proposal_id} for {proposal.as_of} (model version {proposal.model_version})",
    )
    return proposal.summary()
