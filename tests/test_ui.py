"""Both UIs as a user opens them: a stack of its own (`scripts/stack_up.sh` on free ports, state in a temp dir), a
pipeline run recorded in its MLflow store, and headless Chromium on the pages people look at.

MLflow: the experiment opens on its training runs (not the GenAI overview), the parent run's page shows the
description with the results table, the champion's model version page links back to the run. Prefect: the
deployment page lists the deployments `make up` applied. Screenshots are written beside the test's temp files.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hrl_sarp.config import REPO_ROOT
from tests.system_fixture import build_warehouse, fast_config

pytestmark = pytest.mark.slow

CHROMIUM = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _render(url: str, screenshot: Path) -> str:
    """The page's visible text after its scripts ran (headless Chromium), and a screenshot of it."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
             "--virtual-time-budget=20000"]  # fmt: skip
    subprocess.run([*flags, f"--screenshot={screenshot}", url], capture_output=True, timeout=120, check=False)
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout
    dom = re.sub(r"<(style|script)\b.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A parent run with the backtest stage nested in it and the system registered, in a fresh MLflow store."""
    root = tmp_path_factory.mktemp("ui")
    mlruns = root / "mlruns"
    mlruns.mkdir()
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{mlruns / 'mlflow.db'}"
    try:
        from hrl_sarp import tracking
        from hrl_sarp.backtest.stage import run_backtest_stage
        from hrl_sarp.reporting.headline import record_on_parent
        from hrl_sarp.training.runner import run_pretrain

        cfg = fast_config(root)
        build_warehouse(cfg)
        run_pretrain(cfg, 1)
        run_pretrain(cfg, 2)
        name = tracking.parent_run_name(cfg.profile, "ui-test-run")
        with tracking.pipeline_run(cfg, name=name, tags={tracking.FLOW_TAG: "train-all"}) as parent:
            summary = run_backtest_stage(cfg, seeds=[0], parent_run_id=parent.info.run_id, out_dir=root / "report")
        record_on_parent(parent.info.run_id, summary)
        yield root, mlruns, name, parent.info, summary
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before


@pytest.fixture(scope="module")
def stack(recorded):
    root, mlruns, *_ = recorded
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect"),
        "HRL_SARP_STACK_DIR": str(root / "stack"),
        "HRL_SARP_MLRUNS_DIR": str(mlruns),
        "PREFECT_PORT": str(_free_port()),
        "MLFLOW_PORT": str(_free_port()),
        "BIN": str(Path(sys.executable).parent),
    }
    env.pop("PREFECT_API_URL", None)
    up = subprocess.run(
        [str(REPO_ROOT / "scripts" / "stack_up.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    try:
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        assert "memory held: prefect-server" in up.stdout
        yield env, up.stdout
    finally:
        subprocess.run([str(REPO_ROOT / "scripts" / "stack_down.sh")], env=env, capture_output=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_mlflow_opens_on_the_training_runs_the_description_and_the_champion(recorded, stack, tmp_path):
    from hrl_sarp import tracking

    root, _, name, parent, summary = recorded
    env, _ = stack
    base = f"http://127.0.0.1:{env['MLFLOW_PORT']}/"

    runs = _render(base + tracking.run_url(parent.experiment_id), tmp_path / "mlflow_runs.png")
    assert name in runs and "Run Name" in runs  # the runs table, with the parent named after profile and time
    assert "Token Usage" not in runs  # not the GenAI overview

    page = _render(base + tracking.run_url(parent.experiment_id, parent.run_id), tmp_path / "mlflow_parent.png")
    assert "Test split" in page and "hrl_sarp" in page and "equal_weight" in page

    registry = summary["registry"]
    model = _render(base + tracking.model_version_url(registry["name"], registry["version"]), tmp_path / "model.png")
    assert "champion" in model and "Trained and backtested by pipeline run" in model and name in model
    for png in ("mlflow_runs.png", "mlflow_parent.png", "model.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_the_readme_deployment_command_runs_to_completion_from_a_bare_shell(recorded, stack):
    """`.venv/bin/hrl-sarp run DEPLOYMENT --watch` with no PREFECT_API_URL, PREFECT_HOME or venv on the PATH (a new
    terminal; only the test's own stack folder is named). The README runs the whole pipeline; here it stops after
    ingest so the test stays short."""
    root = recorded[0]
    env, _ = stack
    bare = {
        "HOME": os.environ.get("HOME", "/root"),
        "PATH": "/usr/bin:/bin",
        "HRL_SARP_STACK_DIR": env["HRL_SARP_STACK_DIR"],
    }
    command = [str(Path(sys.executable).parent / "hrl-sarp"), "run", "train-all/weekly", "--watch",
               "--param", "until=ingest", "--param", f"warehouse={root / 'deployed.duckdb'}"]  # fmt: skip
    done = subprocess.run(command, env=bare, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Flow run finished successfully in 'Completed'" in done.stdout + done.stderr
    assert (root / "deployed.duckdb").is_file()


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_prefect_shows_the_deployments_make_up_applied(stack, tmp_path):
    env, printed = stack
    page = _render(f"http://127.0.0.1:{env['PREFECT_PORT']}/deployments", tmp_path / "prefect.png")
    assert "train-all" in page and "weekly" in page
    assert "hrl-sarp run train-all/weekly --watch" in printed
