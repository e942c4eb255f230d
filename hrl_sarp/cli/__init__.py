"""``hrl-sarp``: one subcommand per stage, each running the library code that the Prefect tasks wrap.

Each subcommand module under ``hrl_sarp.cli`` exposes ``register(subparsers)``; handlers return a summary dict
that is printed as text or, with ``--json``, as one JSON object. Heavy imports (torch, mlflow, prefect) happen
inside handlers so a single-stage command starts quickly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

from hrl_sarp.errors import HrlSarpError

# Subcommand modules, in the order they appear in --help.
COMMAND_MODULES = ["demo", "ingest", "features", "gnn", "train", "backtest", "stack"]

Handler = Callable[[argparse.Namespace], dict[str, Any]]


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options every stage takes."""
    parser.add_argument("--warehouse", metavar="PATH", help="DuckDB file (default: config, env HRL_SARP_WAREHOUSE)")
    parser.add_argument("--profile", default="demo", help="config profile: demo | full (default: demo)")
    parser.add_argument("--config", metavar="FILE", help="YAML config overlaid on the defaults instead of a profile")
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON summary")


def config_from_args(args: argparse.Namespace, **overrides: Any):
    """The run's typed config from --profile/--config/--warehouse plus dotted overrides."""
    from hrl_sarp.config import load_config

    if getattr(args, "warehouse", None):
        overrides["warehouse"] = args.warehouse
    return load_config(profile=args.profile, path=args.config, overrides=overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrl-sarp",
        description="HRL-SARP: hierarchical RL for sector-aware, risk-adaptive portfolios.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"hrl_sarp.cli.{name}").register(sub)
    return parser


def _print_text(summary: dict[str, Any], indent: str = "") -> None:
    for key, value in summary.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_text(value, indent + "  ")
        elif isinstance(value, float):
            print(f"{indent}{key}: {value:.6g}")
        else:
            print(f"{indent}{key}: {value}")


def emit(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, default=str, sort_keys=False))
    else:
        _print_text(summary)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        summary = args.handler(args)
    except HrlSarpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    emit(summary, getattr(args, "json", False))
    return int(summary.get("exit_code", 0)) if isinstance(summary, dict) else 0


if __name__ == "__main__":
    sys.exit(main())
