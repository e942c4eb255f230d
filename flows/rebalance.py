"""Flow ``rebalance``: the champion model's target weights for the latest date in the warehouse and the orders
against the current holdings, as a warehouse table (``rebalance_proposals``), an MLflow ``rebalance`` run with the
orders file, and a Prefect table artifact with the same rows."""

from __future__ import annotations

from typing import Any

from prefect import flow

from hrl_sarp.domain import Profile
from tasks.logs import send_library_logs_to_prefect
from tasks.rebalance import propose_rebalance_task, publish_rebalance_task


@flow(name="rebalance", log_prints=True)
def rebalance_flow(
    profile: Profile = "demo",
    warehouse: str | None = None,
    config: str | None = None,
    alias: str = "champion",
    write: bool = True,
    holdings: str | None = None,
    nav: float | None = None,
    cash: float | None = None,
    out: str | None = None,
) -> dict[str, Any]:
    """Propose next week's weights and orders with ``models:/hrl-sarp@<alias>``.

    Args:
        profile: config profile (demo | full), unless ``config`` is given.
        warehouse: DuckDB file (default: the config's).
        config: YAML config file overlaid on the defaults.
        alias: registered model alias to use.
        write: record the proposal (warehouse table, MLflow run); False writes nothing but ``out``.
        holdings: current portfolio, CSV or Parquet with columns symbol,shares and an optional cash row;
            default: the warehouse's holdings table (weights), none = all cash.
        nav: portfolio value to size the orders in shares (default: holdings x last close + cash).
        cash: cash held, instead of a cash row in the holdings file.
        out: write the orders CSV to this path (needs holdings, nav or cash).

    Returns the proposal summary: as-of date, model version, NAV and cash, orders, cap checks, warnings.
    """
    send_library_logs_to_prefect()
    from hrl_sarp.config import load_config

    cfg = load_config(profile=profile, path=config, overrides={"warehouse": warehouse})
    proposal = propose_rebalance_task(cfg, write, alias, holdings, nav, cash, out)
    summary = publish_rebalance_task(proposal)
    sized = f", NAV {summary['nav']:,}, cash after {summary['cash_after']:,}" if "nav" in summary else ""
    print(f"rebalance {summary['proposal_id']}: {summary['orders']} orders, cash weight {summary['cash']:.4f}{sized}")
    return summary


if __name__ == "__main__":
    rebalance_flow()
