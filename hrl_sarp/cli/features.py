"""``hrl-sarp features``: build the point-in-time feature tables (the library code the flow's task wraps)."""

from __future__ import annotations

import argparse
from typing import Any

from hrl_sarp.cli import add_common, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "features",
        help="build point-in-time feature tables (idempotent, one transaction)",
        description="Build stock features, macro state, sector and benchmark returns, regime and forward-return "
        "labels from the warehouse's raw tables, validate them and write them under one feature-build id.",
    )
    add_common(parser)
    parser.set_defaults(handler=run_features)


def run_features(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp import warehouse as wh
    from hrl_sarp.features.build import build_features

    cfg = config_from_args(args)
    with wh.open_warehouse(cfg.warehouse_path()) as con:
        summary = build_features(con, cfg, progress=not args.json)
    return summary.to_dict()
