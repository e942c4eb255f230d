"""``hrl-sarp``: one subcommand per stage, each running the library code that the Prefect tasks wrap.

Each subcommand module under ``hrl_sarp.cli`` exposes ``register(subparsers)``; handlers return a summary dict
that is printed as text or, with ``--json``, as one JSON object. Heavy imports (torch, mlflow, prefect) happen
inside handlers so a single-stage command starts quickly.

Failures are one line on stderr, ``error: ...``: exit code 2 when the command line is wrong (unknown option, a value
outside its choices, a file named on the command line that does not exist; argparse prints the usage first) and 1
when the command ran and failed. Cheap checks run before a handler's heavy work: the config loads and validates,
and a command that works on an existing warehouse finds it (only ``ingest`` and ``demo`` create one), so such a
command creates no file. An unexpected exception is one line too, naming its type; ``HRL_SARP_DEBUG=1`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from hrl_sarp.config import Config, available_profiles, load_config
from hrl_sarp.errors import HrlSarpError, WarehouseStateError
from hrl_sarp.logs import configure_logging

# Subcommand modules, in the order they appear in --help.
COMMAND_MODULES = ["demo", "ingest", "features", "gnn", "train", "backtest", "stack"]

DEBUG_ENV = "HRL_SARP_DEBUG"  # set (to anything but 0 or empty) to get the traceback of a failure
USAGE_EXIT = 2  # the command line is wrong (argparse's own code)

Handler = Callable[[argparse.Namespace], dict[str, Any]]
# What a command does with the warehouse: works on an existing one (the default), may create it, or never opens it.
WarehouseUse = Literal["existing", "create", "none"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's error format: the usage, then one ``error: ...`` line, exit code 2.

    Subparsers inherit the class (``add_subparsers`` builds them with the parent's type).
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(USAGE_EXIT, f"error: {message}\n")


def existing_file(text: str) -> str:
    """argparse type: a path to a file that exists (kept as given)."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{'not a file' if path.exists() else 'file not found'}: {text}")
    return text


def existing_path(text: str) -> str:
    """argparse type: a file or folder that exists (kept as given)."""
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"not found: {text}")
    return text


def iso_date(text: str) -> str:
    """argparse type: a YYYY-MM-DD date (kept as the string the stages take)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None
    return text


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return value


def add_common(parser: argparse.ArgumentParser, warehouse: WarehouseUse = "existing", config: bool = True) -> None:
    """Options every stage takes.

    ``warehouse``: what the command does with the warehouse; ``existing`` (a missing file is an error and nothing is
    created), ``create`` (``ingest``, ``demo``) or ``none`` (``validate-data``). ``config``: whether ``--config FILE``
    is offered (``demo`` runs a named profile only).
    """
    parser.add_argument("--warehouse", metavar="PATH", help="DuckDB file (default: config, env HRL_SARP_WAREHOUSE)")
    parser.add_argument(
        "--profile", default="demo", choices=available_profiles(), help="config profile (default: demo)"
    )
    if config:
        parser.add_argument(
            "--config",
            metavar="FILE",
            type=existing_file,
            help="YAML config overlaid on the defaults instead of a profile",
        )
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON summary")
    parser.set_defaults(warehouse_use=warehouse)


def config_from_args(args: argparse.Namespace, **overrides: Any) -> Config:
    """The run's typed config from --profile/--config/--warehouse plus dotted overrides."""
    if getattr(args, "warehouse", None):
        overrides["warehouse"] = args.warehouse
    return load_config(profile=args.profile, path=getattr(args, "config", None), overrides=overrides)


def check_before_running(args: argparse.Namespace) -> None:
    """The cheap checks before a handler's heavy imports: the config loads and validates, and a command that works
    on an existing warehouse finds the file (so it fails in a fraction of a second and creates nothing)."""
    if not hasattr(args, "profile"):  # the stack's commands (up, down, run) take no config
        return
    cfg = config_from_args(args)
    path = cfg.warehouse_path()
    if args.warehouse_use == "existing" and not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise WarehouseStateError(
            f"warehouse {path} {what}: create it with `hrl-sarp ingest` (then `hrl-sarp features` ...) or "
            "`hrl-sarp demo`, or point --warehouse / HRL_SARP_WAREHOUSE at an existing one"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
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


def describe_error(exc: BaseException) -> tuple[str, int]:
    """One line for ``exc`` and the exit code: the message of an :class:`HrlSarpError`, the field of a validation
    error, the file of an OS error; anything else names its type and how to see the traceback."""
    if isinstance(exc, HrlSarpError):
        return _one_line(str(exc)), exc.exit_code
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": str(exc)}
        field = ".".join(str(part) for part in first["loc"]) or "<root>"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return _one_line(f"invalid {exc.title}: {field}: {first['msg']}{more}"), 1
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = {FileNotFoundError: "not found", PermissionError: "permission denied"}.get(type(exc), exc.strerror)
        return _one_line(f"{exc.filename}: {reason or exc}"), 1
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.IOException):
        return _one_line(f"warehouse I/O: {exc}"), 1
    hint = f" (unexpected; rerun with {DEBUG_ENV}=1 for the traceback)"
    return _one_line(f"{type(exc).__name__}: {exc}") + hint, 1


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "failed without a message"


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (0 success, 1 failure, 2 usage error) instead of raising."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (printed already) or --help
        return exc.code if isinstance(exc.code, int) else 0
    configure_logging()  # progress lines of long steps on stderr (stdout and --json stay clean)
    try:
        check_before_running(args)
        summary = args.handler(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        message, code = describe_error(exc)
        print(f"error: {message}", file=sys.stderr)
        return code
    emit(summary, getattr(args, "json", False))
    return int(summary.get("exit_code", 0)) if isinstance(summary, dict) else 0


if __name__ == "__main__":
    sys.exit(main())
