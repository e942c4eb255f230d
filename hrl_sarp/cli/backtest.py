"""``hrl-sarp backtest`` and ``hrl-sarp rebalance``, run directly (no Prefect server needed).

``backtest``: the walk-forward backtest of HRL-SARP (when trained) against flat RL, the benchmark and every
baseline; writes the HTML report, logs the stage run to MLflow and registers the system (``champion`` only when it
beats the current champion on validation, else ``challenger``). The summary maps each strategy name to its
metrics and names the split used.

``rebalance``: the champion's target weights for the latest date in the warehouse and the orders against the
``holdings`` table, written to ``rebalance_proposals``.
"""

from __future__ import annotations

import argparse
from typing import Any

from hrl_sarp.cli import add_common, config_from_args


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
        help="champion model -> next week's target weights and orders for the latest date in the warehouse",
        description="Propose the coming week's target weights and the orders against the current holdings.",
    )
    parser.add_argument("--alias", default="champion", help="registered model alias to use (default: champion)")
    parser.add_argument("--dry-run", action="store_true", help="do not write rebalance_proposals")
    add_common(parser)
    parser.set_defaults(handler=run_rebalance_command)


def run_backtest_command(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp.backtest.stage import run_backtest_stage

    cfg = config_from_args(args)
    return run_backtest_stage(
        cfg, seeds=args.seeds, register=not args.no_register, out_dir=args.out, use_system=not args.baselines_only
    )


def run_rebalance_command(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp.rebalance import rebalance

    cfg = config_from_args(args)
    return rebalance(cfg, write=not args.dry_run, alias=args.alias).summary()
