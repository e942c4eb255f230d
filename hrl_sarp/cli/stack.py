"""``hrl-sarp up`` / ``down`` / ``run``: the local Prefect server, worker and MLflow UI (what ``make up``/``down``
run), and a deployment run through that server from any shell.

Everything binds to 127.0.0.1; PIDs, logs and the servers' addresses live in ``.stack/``. ``run`` reads the
addresses from there, so it needs no ``PREFECT_API_URL`` in the shell. See docs/orchestration.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hrl_sarp.config import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"


def stack_dir() -> Path:
    """Where ``up`` keeps PIDs, logs and addresses (``HRL_SARP_STACK_DIR``, default ``.stack/`` in the repository)."""
    return Path(os.environ.get("HRL_SARP_STACK_DIR") or REPO_ROOT / ".stack")


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser(
        "up",
        help="start a local Prefect server + worker + MLflow UI on 127.0.0.1 and apply the deployments",
        description="Start the local stack (same as `make up`); stop it with `hrl-sarp down` or `make down`.",
    )
    up.add_argument("--prefect-port", type=int, default=4200)
    up.add_argument("--mlflow-port", type=int, default=5000)
    up.set_defaults(handler=run_up)
    down = subparsers.add_parser("down", help="stop exactly what `hrl-sarp up` started")
    down.set_defaults(handler=run_down)
    run = subparsers.add_parser(
        "run",
        help="run a deployment (e.g. train-all/weekly) on the local stack that `make up` started, from any shell",
        description="Start a run of DEPLOYMENT through the local Prefect server (its address from .stack/) and, "
        "with --watch, follow it to the end; exit code 1 when the run fails.",
    )
    run.add_argument(
        "deployment", metavar="DEPLOYMENT", type=deployment_name, help="FLOW/DEPLOYMENT, e.g. train-all/weekly"
    )
    run.add_argument("--watch", action="store_true", help="wait for the run and stream its state")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help="flow parameter (repeatable), e.g. profile=full",
    )
    run.set_defaults(handler=run_deployment)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", str(REPO_ROOT / ".prefect"))
    env["BIN"] = str(Path(sys.executable).parent)
    env.update(extra)
    return env


def run_up(args: argparse.Namespace) -> dict[str, Any]:
    env = _env(PREFECT_PORT=str(args.prefect_port), MLFLOW_PORT=str(args.mlflow_port))
    code = subprocess.run([str(SCRIPTS / "stack_up.sh")], env=env, check=False).returncode
    return {"exit_code": code, **stack_urls()}


def run_down(args: argparse.Namespace) -> dict[str, Any]:
    code = subprocess.run([str(SCRIPTS / "stack_down.sh")], env=_env(), check=False).returncode
    return {"exit_code": code}


def stack_urls() -> dict[str, str]:
    """The running local stack's addresses (``.stack/urls.env``), or {} when `up` has not run or it has stopped."""
    urls_file = stack_dir() / "urls.env"
    pid_file = stack_dir() / "prefect-server.pid"
    if not urls_file.exists() or not pid_file.exists():
        return {}
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
    except (OSError, ValueError):
        return {}
    pairs = (line.split("=", 1) for line in urls_file.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def deployment_name(text: str) -> str:
    """argparse type: ``FLOW/DEPLOYMENT``."""
    flow, _, name = text.partition("/")
    if not flow or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not FLOW/DEPLOYMENT (e.g. train-all/weekly)")
    return text


def key_value(text: str) -> str:
    """argparse type: ``KEY=VALUE``."""
    if "=" not in text or not text.partition("=")[0]:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. profile=full)")
    return text


def run_deployment(args: argparse.Namespace) -> dict[str, Any]:
    """``prefect deployment run`` against the running local stack, with its address and PREFECT_HOME set here."""
    from hrl_sarp.errors import HrlSarpError

    urls = stack_urls()
    if not urls.get("PREFECT_API_URL"):
        raise HrlSarpError("the local stack is not running: start it with `make up` (or `hrl-sarp up`)")
    prefect = Path(sys.executable).parent / "prefect"
    command = [str(prefect), "deployment", "run", args.deployment, *(f"--param={p}" for p in args.param)]
    if args.watch:
        command.append("--watch")
    env = _env(PREFECT_API_URL=urls["PREFECT_API_URL"])
    code = subprocess.run(command, env=env, check=False).returncode
    if code != 0:
        raise HrlSarpError(f"deployment run {args.deployment} failed (prefect exit code {code}; see the output above)")
    return {"deployment": args.deployment, "prefect_ui": urls.get("PREFECT_UI_URL", ""), "exit_code": 0}
