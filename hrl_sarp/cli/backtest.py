"""``hrl-sarp backtest`` and ``hrl-sarp rebalance``, run directly (no Prefect server needed).

``backtest``: the walk-forward backtest of HRL-SARP (when trained) against flat RL, the benchmark and every
baseline; writes the HTML report, logs the stage run to MLflow and registers the system (``champion`` only when it
beats the current champion on validation, else ``challenger``). The summary maps each strategy name to its
metrics and names the split used.

``rebalance``: the champion's target weights for the latest date in the warehouse and the orders that move the
current portfolio there: a holdings file (``--holdings``, CSV or Parquet ``symbol,shares``, a ``cash`` row) or the
``holdings`` table; in shares, lots and notional when the NAV is known (``--nav``, or the holdings valued at the last
closes plus cash), written as CSV with ``--out``; recorded in ``rebalance_proposals`` and an MLflow run. Warnings
(stale data) go to stderr as ``warning: ...`` lines and into the summary.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from hrl_sarp.cli import add_common, config_from_args, existing_file, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="walk-forward backtest of HRL-SARP and the baselines, report, model registration",
        description="Backtest the trained system (if any) and every baseline on the latest feature build.",
    )
    parser.add_argument("--seeds", type=int, nargs="+", metavar="SEED", help="seeds (default: backtest.seeds)")
    parser.add_argument("--out", metavar="DIR", help="report folder (default: artifacts/backtest/<config>_<build>)")
    parser.add_argument("--no-register", action="store_true", help="do not register the system in MLflow")
    parser.add_argument("--baselines-only", action="store_true", help="leave the trained system out")
    add_common(parser)
    parser.set_defaults(handler=run_backtest_command)

    parser = subparsers.add_parser(
        "rebalance",
        help="champion model -> next week's target weights and the orders (shares, notional) for your holdings",
        description=(
            "Propose the coming week's target weights for the latest date in the warehouse and the orders that move "
            "the current holdings there. With --holdings and/or --nav the orders are sized in shares (whole lots of "
            "rebalance.lot_size), priced at the last close, with notional and side (buy/sell/hold); cash is a "
            "separate line, never an order. Holdings file (CSV or Parquet): columns symbol,shares; a row 'cash,AMOUNT' "
            "holds the cash (or use --cash). Without --holdings the holdings table (weights) is used, none = all cash."
        ),
        epilog=(
            "example: hrl-sarp rebalance --holdings holdings.csv --nav 10000000 --out orders.csv  "
            "(orders.csv columns: symbol, sector, price, price_date, current_shares, current_value, current_weight, "
            "target_weight, target_shares, target_value, trade_shares, notional, side; the last line is cash)"
        ),
    )
    parser.add_argument(
        "--holdings",
        metavar="FILE",
        type=existing_file,
        help="current portfolio: CSV or Parquet with columns symbol,shares (+ a cash row)",
    )
    parser.add_argument(
        "--nav",
        type=_positive_amount,
        metavar="AMOUNT",
        help="portfolio value to size the orders (default: holdings x last close + cash)",
    )
    parser.add_argument(
        "--cash", type=_amount, metavar="AMOUNT", help="cash held, instead of a cash row in the holdings file"
    )
    parser.add_argument(
        "--lot-size", type=positive_int, metavar="N", help="shares per trading lot (default: rebalance.lot_size)"
    )
    parser.add_argument("--out", metavar="FILE", help="write the orders as CSV (needs --holdings, --nav or --cash)")
    parser.add_argument("--alias", default="champion", help="registered model alias to use (default: champion)")
    parser.add_argument(
        "--dry-run", action="store_true", help="write nothing but --out (no rebalance_proposals rows, no MLflow run)"
    )
    add_common(parser)
    parser.set_defaults(handler=run_rebalance_command)


def _amount(text: str) -> float:
    """A finite amount >= 0 (cash)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite amount >= 0, got {text!r}")
    return value


def _positive_amount(text: str) -> float:
    """A finite amount > 0 (NAV)."""
    value = _amount(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0, got 0")
    return value


def run_backtest_command(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp.backtest.stage import run_backtest_stage

    cfg = config_from_args(args)
    return run_backtest_stage(
        cfg, seeds=args.seeds, register=not args.no_register, out_dir=args.out, use_system=not args.baselines_only
    )


def run_rebalance_command(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp.rebalance import holdings_from, rebalance

    overrides = {"rebalance.lot_size": args.lot_size} if args.lot_size else {}
    cfg = config_from_args(args, **overrides)
    holdings = holdings_from(args.holdings, args.cash)  # read (and judged) before the model loads
    proposal = rebalance(cfg, write=not args.dry_run, alias=args.alias, holdings=holdings, nav=args.nav, out=args.out)
    for warning in proposal.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return proposal.summary()
