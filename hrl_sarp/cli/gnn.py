"""``hrl-sarp fit-gnn``: fit walk-forward sector embeddings on the latest feature build and store them."""

from __future__ import annotations

import argparse
from typing import Any, get_args

from hrl_sarp.cli import add_common, config_from_args, positive_int
from hrl_sarp.domain import GraphEncoder


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit-gnn",
        help="fit the sector GNN and store weekly sector embeddings",
        description="Build weekly sector correlation graphs, fit the GCN/GAT encoder walk-forward on the training "
        "dates, write the embeddings to the warehouse and record the run in MLflow.",
    )
    parser.add_argument("--encoder", choices=get_args(GraphEncoder), help="graph encoder (default: gnn.encoder)")
    parser.add_argument("--build-id", metavar="ID", help="feature build to use (default: the latest complete one)")
    parser.add_argument(
        "--epochs", type=positive_int, metavar="N", help="epochs per walk-forward refit (default: gnn.epochs)"
    )
    parser.add_argument("--seed", type=int, help="random seed (default: seed)")
    add_common(parser)
    parser.set_defaults(handler=run_fit_gnn)


def run_fit_gnn(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp import warehouse as wh
    from hrl_sarp.gnn.fit import fit_gnn

    cfg = config_from_args(args, **{"gnn.encoder": args.encoder, "gnn.epochs": args.epochs, "seed": args.seed})
    with wh.open_warehouse(cfg.warehouse_path()) as con:
        summary = fit_gnn(con, cfg, build_id=args.build_id, progress=not args.json)
    return summary.to_dict()
