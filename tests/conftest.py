"""Shared fixtures. Telemetry off and Prefect/MLflow state kept inside the test session's temp dirs."""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Tests that do not choose an MLflow store get a throwaway one per test process, never the repository's mlruns/.
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{tempfile.mkdtemp(prefix='hrl_sarp_tests_')}/mlflow.db")
# ... and relative output paths (artifacts/, reports, a default warehouse) land in a throwaway root too.
os.environ.setdefault("HRL_SARP_OUTPUT_ROOT", tempfile.mkdtemp(prefix="hrl_sarp_outputs_"))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_mlflow_state():
    """MLflow keeps a process-global tracking URI (mirrored into ``MLFLOW_TRACKING_URI``), active experiment and run
    stack: put them back as they were before each test so one test's store never leaks into the next (xdist runs
    many tests per process). Module-scoped fixtures set up before this one keep their store."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(before)  # None unsets the variable, as it was
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


@pytest.fixture
def warehouse_path(tmp_path):
    """A fresh, empty warehouse file path."""
    return tmp_path / "wh.duckdb"


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for the session; started only by tests that request it (it takes a while)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def files_folder(tmp_path):
    """Factory: write a small ``files``-source folder and return its path.

    ``files_folder(stocks=2, days=30, bad_prices=[...], sectors=("IT", "Energy"))`` writes securities.csv (stocks per
    sector plus the NIFTY50 index row) and prices/prices.csv with close-only rows on business days; ``bad_prices``
    rows (dicts with date, symbol, close) are appended as they are, to be rejected.
    """
    import numpy as np
    import pandas as pd

    def make(stocks=2, days=30, bad_prices=(), sectors=("IT", "Energy"), name="data"):
        root = tmp_path / name
        (root / "prices").mkdir(parents=True)
        symbols = [f"{sector.upper()[:3]}{i}" for sector in sectors for i in range(stocks)]
        securities = pd.DataFrame(
            {"symbol": symbols, "sector": [s for s in sectors for _ in range(stocks)], "kind": "stock"}
        )
        index_row = pd.DataFrame({"symbol": ["NIFTY50"], "sector": ["Index"], "kind": ["index"]})
        pd.concat([securities, index_row]).to_csv(root / "securities.csv", index=False)
        dates = pd.bdate_range("2023-01-02", periods=days)
        frames = []
        for k, symbol in enumerate([*symbols, "NIFTY50"]):
            close = 100.0 + k + np.arange(days) * 0.5
            frames.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "symbol": symbol, "close": close}))
        prices = pd.concat([*frames, pd.DataFrame(list(bad_prices), columns=["date", "symbol", "close"])])
        prices.to_csv(root / "prices" / "prices.csv", index=False)
        return root

    return make


# ------------------------------------------------------------------------------------------ a clean working tree
# Everything a test writes belongs in a temp dir: the session records the repository's files (tracked, untracked
# and ignored, outside caches) before the first test and fails if new ones appear by the end.
_CACHES = (".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "hrl_sarp.egg-info")
# Prefect's own state in PREFECT_HOME (its database, memo store, local storage) is Prefect's business; the
# project's cached task results under .prefect/results are checked.
_PREFECT_STATE = (".prefect/prefect.db", ".prefect/memo_store.toml", ".prefect/storage/")


def repository_files() -> set[str]:
    from hrl_sarp.config import REPO_ROOT

    found = set()
    for folder, dirs, files in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in _CACHES]
        relative = os.path.relpath(folder, REPO_ROOT)
        found.update(os.path.normpath(os.path.join(relative, name)) for name in files if not name.endswith(".pyc"))
    return {path for path in found if not path.startswith(_PREFECT_STATE)}


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        session.config._repository_files = repository_files()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_repository_files", None)
    if before is None or os.environ.get("HRL_SARP_ALLOW_TREE_WRITES"):
        return
    left = sorted(repository_files() - before)
    if left:
        shown = "\n  ".join(left[:20]) + (f"\n  ... and {len(left) - 20} more" if len(left) > 20 else "")
        sys.stderr.write(f"\nerror: the tests left {len(left)} file(s) in the repository:\n  {shown}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
