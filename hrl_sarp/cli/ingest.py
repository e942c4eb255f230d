"""``hrl-sarp ingest`` and ``hrl-sarp validate-data``."""

from __future__ import annotations

import argparse
import sys
from typing import Any, get_args

from hrl_sarp.cli import add_common, config_from_args, existing_path, iso_date
from hrl_sarp.domain import DataSource
from hrl_sarp.errors import NoValidDataError

SHOWN_REJECTIONS = 20
NOTHING_VALID_EXIT = 2  # validate-data's documented code when no row is valid (1: some rows or a stage)


def register(subparsers: argparse._SubParsersAction) -> None:
    ingest = subparsers.add_parser(
        "ingest",
        help="load a source into the warehouse (one transaction, idempotent)",
        description="Read a source, validate it, quarantine bad rows and load the good ones into the warehouse.",
    )
    ingest.add_argument("--source", choices=get_args(DataSource), help="where to read (default: data.source)")
    ingest.add_argument(
        "--path",
        metavar="DIR",
        type=existing_path,
        help="folder for --source files (securities.csv, prices/, ...); for yfinance a ticker list",
    )
    _add_window(ingest)
    add_common(ingest, warehouse="create")
    ingest.set_defaults(handler=run_ingest)

    check = subparsers.add_parser(
        "validate-data",
        help="check a data folder and report bad rows (writes nothing)",
        description="Validate a files folder (or another source), list the rows ingestion would quarantine, and "
        "try the later stages on a throwaway copy (feature build and its checks, benchmark, walk-forward split) "
        "to report what would stop them. Exit code 0: all rows valid, no problem; 1: some rows would be "
        "quarantined or a later stage would fail; 2: nothing valid.",
    )
    check.add_argument("--path", metavar="DIR", type=existing_path, help="folder to check (implies --source files)")
    check.add_argument("--source", choices=get_args(DataSource), help="default: files with --path, else data.source")
    _add_window(check)
    add_common(check, warehouse="none")
    check.set_defaults(handler=run_validate)


def _add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", metavar="YYYY-MM-DD", type=iso_date, help="first date to keep (default: data.start)")
    parser.add_argument("--end", metavar="YYYY-MM-DD", type=iso_date, help="last date to keep (default: data.end)")


def run_ingest(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp.ingest import ingest

    cfg = config_from_args(args)
    summary = ingest(cfg, source=args.source, path=args.path, start=args.start, end=args.end, progress=not args.json)
    result = summary.to_dict()
    if not args.json:
        _list_rejections(result["rejections"], summary.rows_rejected)
        _list_warnings(result["warnings"])
        result = _compact(result)
    return result


def run_validate(args: argparse.Namespace) -> dict[str, Any]:
    from hrl_sarp.preflight import check_data

    cfg = config_from_args(args)
    try:
        result = check_data(cfg, path=args.path, source=args.source, start=args.start, end=args.end)
    except NoValidDataError as exc:
        exc.exit_code = NOTHING_VALID_EXIT
        raise
    if not args.json:
        _list_rejections(result["rejections"], result["rows_rejected"])
        _list_warnings(result["warnings"])
        for problem in result["problems"]:
            print(f"problem: {problem}", file=sys.stderr)
        result = _compact(result)
    return result


def _list_rejections(messages: list[str], total: int) -> None:
    if not total:
        return
    print(f"rejected {total} rows (quarantined on ingest); first {len(messages)}:", file=sys.stderr)
    for message in messages:
        print(f"  {message}", file=sys.stderr)


def _list_warnings(messages: list[str]) -> None:
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)


def _compact(result: dict[str, Any]) -> dict[str, Any]:
    """Text mode lists rejections and warnings on stderr; stdout keeps the counts."""
    return {k: v for k, v in result.items() if k not in ("rejections", "warnings", "problems")}
