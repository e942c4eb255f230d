"""Prefect tasks around :mod:`hrl_sarp.rebalance`: the champion's proposal and its orders as a table artifact."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from hrl_sarp.config import Config
from hrl_sarp.rebalance import CASH_SIDE, Proposal, holdings_from, rebalance, table_records

ARTIFACT_KEY = "rebalance-proposal"


@task(name="propose-rebalance", cache_policy=NO_CACHE)
def propose_rebalance_task(
    cfg: Config,
    write: bool = True,
    alias: str = "champion",
    holdings: str | None = None,
    nav: float | None = None,
    cash: float | None = None,
    out: str | None = None,
) -> Proposal:
    """Champion -> target weights for the latest date and the orders against ``holdings`` (a file; None: the
    ``holdings`` table), in shares when the NAV is known; written to ``rebalance_proposals`` and MLflow when
    ``write``, to ``out`` as CSV when given. Warnings (stale data) go to the run's log."""
    proposal = rebalance(cfg, write=write, alias=alias, holdings=holdings_from(holdings, cash), nav=nav, out=out)
    logger = get_run_logger()
    for warning in proposal.warnings:
        logger.warning(warning)
    return proposal


@task(name="publish-rebalance", cache_policy=NO_CACHE)
def publish_rebalance_task(proposal: Proposal) -> dict[str, Any]:
    """The orders (weights when the NAV is unknown) as the ``rebalance-proposal`` table artifact, the same rows as
    the orders CSV; the description carries the NAV, the cash before and after, and any warning."""
    summary = proposal.summary()
    lines = [f"Rebalance `{proposal.proposal_id}` for {proposal.as_of} (model version {proposal.model_version})."]
    lines.append(f"Holdings: {proposal.holdings}.")
    if proposal.orders is not None:
        lines.append(
            f"NAV {summary['nav']:,}; cash now {summary['cash_now']:,}, after the orders {summary['cash_after']:,} "
            f"(line `{CASH_SIDE}`); {summary['orders']} orders ({summary['buys']} buys, {summary['sells']} sells)."
        )
    else:
        lines.append("Weights only: give a holdings file or a NAV to size the orders in shares.")
    lines += [f"**Warning:** {w}" for w in proposal.warnings]
    create_table_artifact(table_records(proposal.table()), key=ARTIFACT_KEY, description="\n\n".join(lines))
    return summary
