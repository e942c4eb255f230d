"""``hrl-sarp up`` / ``hrl-sarp down``: the local Prefect server, worker and MLflow UI (what ``make up``/``down`` run).

Everything binds to 127.0.0.1; PIDs and logs live in ``.stack/``. See docs/orchestration.md.
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
STACK_DIR = REPO_ROOT / ".stack"


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
    urls_file = STACK_DIR / "urls.env"
    pid_file = STACK_DIR / "prefect-server.pid"
    if not urls_file.exists() or not pid_file.exists():
        return {}
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
    except (OSError, ValueError):
        return {}
    pairs = (line.split("=", 1) for line in urls_file.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}
